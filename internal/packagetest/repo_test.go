package packagetest

import (
	"os"
	"path/filepath"
	"testing"
)

// repoPath is rel inside the repository, from this package's directory;
// it fails the test when the file is missing.
func repoPath(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return p
}
