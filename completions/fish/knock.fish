# fish completion for knock(1), from knockbeep. internal/packagetest
# checks the -s and -l names against knock's option table.
set -l songs fur-elise imperial-march minuet-in-g ode-to-joy twinkle-twinkle
complete -c knock -f -a '(__fish_print_hostnames)'
complete -c knock -s u -l udp -d 'knock with UDP where a port has no :proto suffix'
complete -c knock -s d -l delay -x -d 'wait between knocks (ms or a duration)'
complete -c knock -s 4 -l ipv4 -d 'use IPv4 only'
complete -c knock -s 6 -l ipv6 -d 'use IPv6 only'
complete -c knock -s v -l verbose -d 'print each knock as it goes'
complete -c knock -s h -l help -d 'print the usage and exit'
complete -c knock -s V -l version -d 'print the version and exit'
complete -c knock -l song -r -F -a "$songs" -d 'knock a song into knockbeepd'
complete -c knock -l dry-run -d 'print the plan and send nothing'
complete -c knock -l no-pitch -d 'no pitch knocks'
complete -c knock -l ports -x -d 'the tone, silence and play ports'
complete -c knock -l pitch-base -x -d 'the port of MIDI note 0'
complete -c knock -l step -x -d 'the length of one step'
