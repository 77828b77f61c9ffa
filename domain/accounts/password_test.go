package accounts

import "testing"

func TestPassword(t *testing.T) {
	p := PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}
	h := HashPassword("correct horse battery", p)
	if !CheckPassword(h, "correct horse battery") {
		t.Fatal("the right password does not match its hash")
	}
	if CheckPassword(h, "correct horse batterY") {
		t.Fatal("a wrong password matches")
	}
	if h2 := HashPassword("correct horse battery", p); h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=1024,t=1,p=1$$", "$bcrypt$x", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA"} {
		if CheckPassword(bad, "x") {
			t.Errorf("malformed hash %q matched", bad)
		}
	}
}
