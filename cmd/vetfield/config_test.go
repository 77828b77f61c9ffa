package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	c, err := ParseConfig(nil, envOf(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.KeysDir != "./data/keys" ||
		c.PublicURL != "http://127.0.0.1:8080" || c.AccessTTL != 15*time.Minute || c.MongoURI != "" || c.S3Endpoint != "" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestConfigEnvAndFlags(t *testing.T) {
	env := envOf(map[string]string{"VETFIELD_ADDR": "0.0.0.0:9000", "VETFIELD_PUBLIC_URL": "https://vet.example.kz/",
		"VETFIELD_DATA_DIR": "/var/lib/vetfield", "VETFIELD_ACCESS_TTL": "5m"})
	c, err := ParseConfig([]string{"-addr", "127.0.0.1:9001"}, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9001" {
		t.Errorf("the flag did not win over the environment: %q", c.Addr)
	}
	if c.PublicURL != "https://vet.example.kz" || c.DataDir != "/var/lib/vetfield" || c.AccessTTL != 5*time.Minute {
		t.Errorf("environment not read: %+v", c)
	}
	if _, err := ParseConfig(nil, envOf(map[string]string{"VETFIELD_ACCESS_TTL": "soon"}), &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), "VETFIELD_ACCESS_TTL") {
		t.Errorf("a bad duration was accepted or not named: %v", err)
	}
	if _, err := ParseConfig(nil, envOf(map[string]string{"VETFIELD_S3_ENDPOINT": "127.0.0.1:9000"}), &bytes.Buffer{}); err == nil {
		t.Error("an S3 endpoint without keys was accepted")
	}
}

func TestConfigHelpListsEverySetting(t *testing.T) {
	var out bytes.Buffer
	_, err := ParseConfig([]string{"-h"}, envOf(map[string]string{"VETFIELD_ADMIN_PASSWORD": "s3cret-pass"}), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	help := out.String()
	for _, s := range (&Config{}).settings() {
		if !strings.Contains(help, s.env) || !strings.Contains(help, "-"+s.flag) {
			t.Errorf("-h does not list %s / -%s", s.env, s.flag)
		}
	}
	if strings.Contains(help, "s3cret-pass") {
		t.Error("-h prints a secret from the environment")
	}
}
