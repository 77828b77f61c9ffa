package media

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestS3PingErrUnavailable(t *testing.T) {
	s, err := newS3(S3Config{
		Endpoint: closedPort(t), AccessKey: "a", SecretKey: "secret12", Bucket: "vetfield",
		Timeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.Ping(t.Context())
	if !domain.IsCode(err, domain.EUNAVAILABLE) {
		t.Errorf("Ping on a closed port: %v, want %s", err, domain.EUNAVAILABLE)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Ping on a closed port took %v, want about the 500ms timeout", d)
	}
	var de *domain.Error
	if errors.As(err, &de) && de.Err == nil {
		t.Error("the cause is not kept in Err for the logs")
	}
}

func TestNewS3ErrUnavailable(t *testing.T) {
	start := time.Now()
	_, err := NewS3(t.Context(), S3Config{
		Endpoint: closedPort(t), AccessKey: "a", SecretKey: "secret12", Bucket: "vetfield",
		Timeout: 500 * time.Millisecond,
	})
	if !domain.IsCode(err, domain.EUNAVAILABLE) {
		t.Errorf("NewS3 on a closed port: %v, want %s", err, domain.EUNAVAILABLE)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("NewS3 on a closed port took %v", d)
	}
}

func TestGrantsAnonymous(t *testing.T) {
	for _, tc := range []struct {
		policy string
		want   bool
	}{
		{``, false},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`, true},
		{`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject"}]}`, true},
		{`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:root","*"]},"Action":"s3:ListBucket"}]}`, true},
		{`{"Statement":{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"s3:GetObject"}}`, true},
		{`{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":["arn:aws:iam::1:root"]},"Action":"s3:GetObject"}]}`, true},
		{`{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*"}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::1:user/vetfield"]},"Action":"s3:*"}]}`, false},
		{`not json`, true},
	} {
		got, _ := grantsAnonymous(tc.policy)
		if got != tc.want {
			t.Errorf("grantsAnonymous(%s) = %v, want %v", tc.policy, got, tc.want)
		}
	}
}
