package api

// SyncViewsVersion is syncViewsVersion, for TestSyncViewsVersion.
const SyncViewsVersion = syncViewsVersion
