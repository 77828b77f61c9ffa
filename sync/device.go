package sync

import (
	"context"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
)

// Device is what the server knows of one tablet: when it last pulled and pushed and where its
// checkpoint stands, for supervisors who need to know which tablets are behind.
type Device struct {
	domain.Meta
	UserID     string    `json:"user_id"`
	Username   string    `json:"username"`
	DeviceID   string    `json:"device"`
	Territory  string    `json:"territory,omitempty"`
	LastPullAt time.Time `json:"last_pull_at,omitzero"`
	LastPushAt time.Time `json:"last_push_at,omitzero"`
	// CheckpointSeq is the log position the device's last pull reached.
	CheckpointSeq int64 `json:"checkpoint_seq"`
	Pulls         int64 `json:"pulls"`
	Pushes        int64 `json:"pushes"`
	SeenMs        int64 `json:"seen_ms"`
}

// DevicesSpec declares the devices collection; ids are "<user id>:<device id>".
var DevicesSpec = domain.CollectionSpec{
	Name:    "sync_devices",
	Indexes: []domain.Index{{Name: "sync_devices_seen", Fields: []string{"seen_ms"}}},
}

// MaxDeviceID bounds the device id a tablet sends.
const MaxDeviceID = 64

func deviceKey(userID, device string) string { return userID + ":" + device }

// noteDevice updates the device record with change, creating it on first contact. Losing a
// concurrent update only loses a timestamp that the next sync writes again, so it tries a few
// times and then gives up quietly.
func (s *Service) noteDevice(ctx context.Context, u *accounts.User, device string, change func(*Device)) error {
	if device == "" {
		return nil
	}
	key := deviceKey(u.ID, device)
	for range 3 {
		d, err := getDevice(ctx, s.Store, key)
		fresh := domain.IsCode(err, domain.ENOTFOUND)
		if err != nil && !fresh {
			return err
		}
		if fresh {
			d = &Device{Meta: domain.Meta{ID: key}, UserID: u.ID, DeviceID: device}
		}
		d.Username, d.Territory = u.Username, string(u.Territory)
		change(d)
		d.SeenMs = s.now().UnixMilli()
		if fresh {
			err = insertDevice(ctx, s.Store, d)
		} else {
			err = updateDevice(ctx, s.Store, d)
		}
		if !domain.IsCode(err, domain.ECONFLICT) {
			return err
		}
	}
	return nil
}

func (s *Service) notePull(ctx context.Context, u *accounts.User, device string, seq int64) error {
	return s.noteDevice(ctx, u, device, func(d *Device) {
		d.LastPullAt, d.CheckpointSeq = s.now().UTC(), seq
		d.Pulls++
	})
}

func (s *Service) notePush(ctx context.Context, u *accounts.User, device string) error {
	return s.noteDevice(ctx, u, device, func(d *Device) {
		d.LastPushAt = s.now().UTC()
		d.Pushes++
	})
}

// DeviceStatus is a device with how far behind it is and what waits for a supervisor.
type DeviceStatus struct {
	Device
	// Behind counts log entries of the device's district after its checkpoint, up to MaxBehind.
	Behind int `json:"behind"`
	// Conflicts counts this device's changes that lost a conflict and are not yet resolved.
	Conflicts int `json:"conflicts"`
}

// MaxBehind caps the count of entries a device is behind; past it the exact number matters less
// than that the tablet must sync.
const MaxBehind = 10_000

// Devices lists the devices seen, most recently seen first, with their lag and open conflicts,
// limited to those p may supervise (admins: all; staff: users of their territory).
func (s *Service) Devices(ctx context.Context, p domain.Principal, after string, limit int) ([]DeviceStatus, string, error) {
	page, err := s.Store.List(ctx, DevicesSpec.Name, domain.Query{Index: "sync_devices_seen", Desc: true, After: after, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	out := make([]DeviceStatus, 0, len(page.Records))
	for _, rec := range page.Records {
		d, err := decodeDevice(rec)
		if err != nil {
			return nil, "", err
		}
		if p.Role != domain.RoleAdmin && !(d.Territory != "" && p.CanSeeTerritory(domain.Kato(d.Territory))) {
			continue
		}
		st := DeviceStatus{Device: *d}
		if st.Behind, err = s.behind(ctx, d, d.CheckpointSeq); err != nil {
			return nil, "", err
		}
		if st.Conflicts, err = s.openConflicts(ctx, d.ID); err != nil {
			return nil, "", err
		}
		out = append(out, st)
	}
	return out, page.Next, nil
}

// behind counts the entries after seq in the buckets of the device's territory (every entry for
// a device without one), so that listing a district's tablets reads the district's log only.
func (s *Service) behind(ctx context.Context, d *Device, seq int64) (int, error) {
	f := domain.BucketFilter{All: true}
	if d.Territory != "" {
		f = domain.TerritoryBuckets(domain.Kato(d.Territory)).With(domain.BucketFilter{Buckets: []string{ScopeAll}})
	}
	n := 0
	for n < MaxBehind {
		entries, err := s.Store.ChangesIn(ctx, f, seq, changesBatch)
		if err != nil {
			return 0, err
		}
		n += len(entries)
		if len(entries) < changesBatch {
			break
		}
		seq = entries[len(entries)-1].Seq
	}
	return min(n, MaxBehind), nil
}

func (s *Service) openConflicts(ctx context.Context, key string) (int, error) {
	n, after := 0, ""
	for {
		page, err := s.Store.List(ctx, ConflictsSpec.Name, domain.Query{Index: "sync_conflicts_device", Eq: []any{key}, After: after, Limit: domain.MaxPageSize})
		if err != nil {
			return 0, err
		}
		for _, r := range page.Records {
			c, err := decodeConflict(r)
			if err != nil {
				return 0, err
			}
			if !c.Resolved {
				n++
			}
		}
		if page.Next == "" || n >= MaxBehind {
			return n, nil
		}
		after = page.Next
	}
}

func getDevice(ctx context.Context, s domain.Store, key string) (*Device, error) {
	return domain.GetEntity[Device](ctx, s, DevicesSpec.Name, key)
}

func insertDevice(ctx context.Context, s domain.Store, d *Device) error {
	return domain.InsertEntity(ctx, s, DevicesSpec.Name, d, nil)
}

func updateDevice(ctx context.Context, s domain.Store, d *Device) error {
	return domain.UpdateEntity(ctx, s, DevicesSpec.Name, d, nil)
}

func decodeDevice(rec domain.Record) (*Device, error) { return domain.DecodeEntity[Device](rec) }

func decodeConflict(rec domain.Record) (*ConflictRecord, error) {
	return domain.DecodeEntity[ConflictRecord](rec)
}
