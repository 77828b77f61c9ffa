//go:build linux

package media

import (
	"runtime"
	"syscall"
)

// lowerPriority moves the calling goroutine onto an OS thread of its own at the lowest CPU priority
// (nice 19), so background work — making thumbnails — takes only CPU time that uploads and the rest
// of the server do not want. The goroutine never unlocks the thread: when it ends, Go discards the
// thread, so no other goroutine ever runs at that priority.
func lowerPriority() {
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
}
