# Sourced by the test and benchmark scripts.
#
# listening_addr NAME PID STDOUT STDERR: waits (up to 10 s) for a talkback server binary's first
# stdout line, `listening on http://ADDR` (the contract the README states under "The two
# commands"), and prints ADDR. Exits the script with status 1, showing the server's stderr, if
# the server dies or says something else first.
listening_addr() {
    local name=$1 pid=$2 stdout=$3 stderr=$4 line=""
    for _ in $(seq 1 200); do
        line="$(head -n 1 "$stdout" 2>/dev/null)"
        [[ -n "$line" ]] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited before listening:" >&2
            cat "$stderr" >&2
            exit 1
        fi
        sleep 0.05
    done
    if [[ "$line" != "listening on http://"* ]]; then
        echo "unexpected first line from $name: '$line'" >&2
        exit 1
    fi
    echo "${line#listening on http://}"
}
