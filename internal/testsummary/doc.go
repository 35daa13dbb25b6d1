// Command testsummary turns the test tiers that scripts/test runs into one
// summary. It is part of the repository's test tooling, not of knockbeep.
//
// scripts/test runs each check that is not a go test (go vet for Linux and
// FreeBSD, the FreeBSD build) through "testsummary step", and pipes each
// "go test -json" through "testsummary tests", which prints the tests'
// output as go test would, so a person watching sees it as it comes.
// Each appends one line to a results file: the tier's name, how many tests
// passed, failed and skipped, which failed, and why each skipped (the
// last thing it logged, which is what t.Skip said). "testsummary report"
// then prints one summary of every tier, groups the skipped tests by
// reason, says when the run was not root and what that left out, and ends
// with the whole run's "N passed, N failed, N skipped", which CI reads.
//
// A test counts once, subtests too. A package that fails with no failed
// test (a build error, a panic outside a test, TestMain) counts as one
// failure, and a test that started and never ended (the package panicked
// or timed out) as another.
package main
