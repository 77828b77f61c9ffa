package inspection_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
)

// TestUploadFollowsTerritory: an upload is its creator's only while its territory is still theirs.
func TestUploadFollowsTerritory(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	photos := &inspection.Photos{Store: store, Now: time.Now}
	u := inspection.Upload{Meta: domain.Meta{ID: domain.NewID()}, InspectionID: "i", ObjectID: "o", Territory: "313245100",
		OwnerIIN: "880101300123", CreatedBy: "insp-1", Size: 10, SHA256: "00", DeclaredType: "image/jpeg",
		State: inspection.UploadOpen, ExpiresMs: time.Now().Add(time.Hour).UnixMilli()}
	data, _ := json.Marshal(u)
	if _, err := store.Insert(t.Context(), inspection.UploadsSpec.Name, domain.Record{ID: u.ID, Data: data}); err != nil {
		t.Fatal(err)
	}
	creator := domain.Principal{UserID: "insp-1", Role: domain.RoleInspector, Territory: "313200000"}
	if _, err := photos.GetUpload(t.Context(), creator, u.ID); err != nil {
		t.Fatalf("the creator cannot reach the upload: %v", err)
	}
	moved := creator
	moved.Territory = "314800000"
	if _, err := photos.GetUpload(t.Context(), moved, u.ID); !domain.IsCode(err, domain.ENOTFOUND) {
		t.Errorf("the creator moved to another district still reaches the upload: %v", err)
	}
	other := domain.Principal{UserID: "insp-2", Role: domain.RoleInspector, Territory: "313200000"}
	if _, err := photos.GetUpload(t.Context(), other, u.ID); !domain.IsCode(err, domain.ENOTFOUND) {
		t.Errorf("another inspector reaches the upload: %v", err)
	}
}
