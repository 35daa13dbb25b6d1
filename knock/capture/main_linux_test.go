package capture

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// netnsEnv marks the test process that runs in a network namespace of its
// own (see TestMain).
const netnsEnv = "KNOCKBEEP_CAPTURE_NETNS"

// errNoOwnNetns is nil when this process runs in a network namespace of
// its own, else why it does not.
var errNoOwnNetns = errors.New("not root")

// TestMain lets the test binary double as the SYN generator of the flood
// benchmark, run as a separate process so that its CPU time is not
// counted as the capture's.
//
// As root, it runs the tests in a network namespace of their own: it runs
// the test binary again, with the same arguments, in a new namespace whose
// loopback it brings up, and exits with that run's status. The live tests
// capture on lo and add veth pairs; there they cannot touch the host's
// network (interfaces, routes, a knock daemon listening on the host's
// lo), nothing on the host can send to their ports, and whatever a killed
// run leaves behind goes with its namespace, which the kernel deletes
// when its last process ends.
func TestMain(m *testing.M) {
	if spec := os.Getenv(floodEnv); spec != "" {
		os.Exit(floodMain(spec))
	}
	switch {
	case os.Geteuid() != 0:
	case os.Getenv(netnsEnv) != "":
		errNoOwnNetns = loopbackUp()
	default:
		code, err := runInNewNetns()
		if err == nil {
			os.Exit(code)
		}
		errNoOwnNetns = err
		fmt.Fprintf(os.Stderr, "capture: %v: the live tests skip\n", err)
	}
	os.Exit(m.Run())
}

// runInNewNetns runs this test binary again in a new network namespace and
// returns its exit status, or an error if it could not be started there.
func runInNewNetns() (int, error) {
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Pdeathsig is sent when the thread that started the child ends,
	// not the process: keep this goroutine on its thread until then.
	runtime.LockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("cannot run the tests in a network namespace of their own: %w", err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return exit.ExitCode(), nil
	default:
		// Killed by a signal, or could not be waited for: fail, saying so.
		fmt.Fprintf(os.Stderr, "capture: the tests in their network namespace: %v\n", err)
		return 1, nil
	}
}

// loopbackUp brings up lo, which a new network namespace has down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing up lo in the test's network namespace: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("reading the flags of lo in the test's network namespace: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up lo in the test's network namespace: %w", err)
	}
	return nil
}

// needNetns skips a test that captures live or changes the network unless
// it runs as root in the namespace TestMain made for it.
func needNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: live capture opens AF_PACKET sockets (CAP_NET_RAW) and the tests make a network namespace")
	}
	if errNoOwnNetns != nil {
		t.Skipf("needs a network namespace of its own, so as not to capture on or change the host's network: %v", errNoOwnNetns)
	}
}

// TestLiveTestsHaveTheirOwnNetns: the namespace the live tests capture in
// and add links to is not the one the test binary was started in.
func TestLiveTestsHaveTheirOwnNetns(t *testing.T) {
	needNetns(t)
	ours, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	starter, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", os.Getppid()))
	if err != nil {
		t.Fatal(err)
	}
	if ours == starter {
		t.Errorf("the tests run in %s, the network namespace of the process that started them", ours)
	}
}
