package firewall

// backends opens each kind of set this system has.
var backends = map[string]func(Spec) (Set, error){
	"pf": openPF,
}
