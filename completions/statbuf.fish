complete -c statbuf -s k -l key-field -d 'Key from whitespace field N, like awk\'s $N; repeat for a composite key' -r
complete -c statbuf -s d -l delimiter -d 'Split fields at this single byte instead of runs of blanks (`\\t` for tabs)' -r
complete -c statbuf -s r -l key-regex -d 'Key from a regex: capture group 1, the named groups in order, or the whole match' -r
complete -c statbuf -s j -l json-key -d 'Key from the member at PATH of a JSON line (.status, .request.uri); repeatable' -r
complete -c statbuf -l logfmt-key -d 'Key from the value of NAME in a logfmt line (level=info status=200); repeatable' -r
complete -c statbuf -l match -d 'Count only lines matching RE; repeatable: a line matching any of them' -r
complete -c statbuf -l exclude -d 'Do not count lines matching RE; repeatable, like `grep -v -e RE`' -r
complete -c statbuf -l tag -d 'Add a constant key column NAME with VALUE to every row of every sink; repeatable' -r
complete -c statbuf -l value-field -d 'Add the integer in field N instead of 1 (a regex group named `value` does the same)' -r
complete -c statbuf -l json-value -d 'Add the integer member at PATH of a JSON line instead of 1 (.body_bytes_sent)' -r
complete -c statbuf -l logfmt-value -d 'Add the integer value of NAME in a logfmt line instead of 1' -r
complete -c statbuf -l bucket -d 'Count per time bucket of DURATION (1m, 1h, 1d) by each line\'s own time' -r
complete -c statbuf -l time-field -d 'With --bucket, the time starts at field N (a CLF time spanning fields 4 and 5: 4)' -r
complete -c statbuf -l time-regex -d 'With --bucket, the time is group 1 of RE (or the group named `time`)' -r
complete -c statbuf -l time-format -d 'With --bucket, read the time with this strftime FORMAT (%s: epoch seconds, %ms: epoch ms)' -r
complete -c statbuf -l tz -d 'With --bucket, read times that carry no zone in ZONE (default: the machine\'s zone)' -r
complete -c statbuf -l state -d 'Remember how far each file was counted in FILE, and resume from there' -r -F
complete -c statbuf -l max-line-bytes -d 'Skip lines longer than this many bytes (counted as oversize; at most 4 GiB)' -r
complete -c statbuf -s i -l interval -d 'Flush every DURATION (500ms, 10s, 1m30s); without it, once at end of input' -r
complete -c statbuf -l jitter -d 'Delay each interval flush by a random 0..DURATION more' -r
complete -c statbuf -l max-keys -d 'Flush early whenever this many distinct keys are buffered' -r
complete -c statbuf -l flush-timeout -d 'At exit, keep retrying a failing sink this long before giving up on it' -r
complete -c statbuf -l fallback -d 'Write counts a sink could not take to this file (CSV) instead of stderr' -r -F
complete -c statbuf -l csv -d 'Append one row per key per flush to this CSV file' -r -F
complete -c statbuf -l sqlite -d 'Add the counts to this SQLite database (created if missing)' -r -F
complete -c statbuf -l postgres -d 'Add the counts to this PostgreSQL database (a URL or key=value connection string)' -r
complete -c statbuf -l host-id -d 'Name of this machine in PostgreSQL\'s checkpoint table (default: the host name)' -r
complete -c statbuf -l exec -d 'Run `sh -c CMD` at each flush with the rows on its standard input (CSV with a header)' -r
complete -c statbuf -l exec-format -d 'Rows for --exec as csv (default), tsv or json lines' -r -f -a "csv\t'RFC 4180 CSV with a header: window_start, window_end, key columns, count'
tsv\t'the same columns tab-separated, with a header'
json\t'one JSON object per key'"
complete -c statbuf -l exec-timeout -d 'Kill an --exec command still running after DURATION; the flush then counts as failed' -r
complete -c statbuf -l table -d 'Table for the totals (SQLite and PostgreSQL)' -r
complete -c statbuf -l format -d 'Format of the stdout sink' -r -f -a "plain\t'`count key` lines like `sort | uniq -c | sort -rn`'
tsv\t'window_start, window_end, key parts, count; tab-separated, with a header'
csv\t'window_start, window_end, key parts, count; RFC 4180 CSV, with a header'
json\t'one JSON object per key per flush'"
complete -c statbuf -l top -d 'Print only the N largest counts of each flush to stdout' -r
complete -c statbuf -l explain -d 'Show the key (and value) each of the first N lines gives, or why it is skipped; write nothing else' -r
complete -c statbuf -s F -l follow -d 'Keep reading the files as they grow, across rotation and truncation, like `tail -F`'
complete -c statbuf -l from-start -d 'With --follow, count what the files already hold (default: start at their end)'
complete -c statbuf -l no-decompress -d 'Read compressed files and input as they are instead of decoding them'
complete -c statbuf -l stdout -d 'Print to stdout even when another sink is given'
complete -c statbuf -s q -l quiet -d 'Print no summary line and no progress'
complete -c statbuf -l progress -d 'Show progress on stderr even when it is not a terminal'
complete -c statbuf -l no-progress -d 'Never show progress'
complete -c statbuf -s h -l help -d 'Print help (see more with \'--help\')'
complete -c statbuf -s V -l version -d 'Print version'
