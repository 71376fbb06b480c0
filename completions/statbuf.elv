
use builtin;
use str;

set edit:completion:arg-completer[statbuf] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'statbuf'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'statbuf'= {
            cand -k 'Key from whitespace field N, like awk''s $N; repeat for a composite key'
            cand --key-field 'Key from whitespace field N, like awk''s $N; repeat for a composite key'
            cand -d 'Split fields at this single byte instead of runs of blanks (`\t` for tabs)'
            cand --delimiter 'Split fields at this single byte instead of runs of blanks (`\t` for tabs)'
            cand -r 'Key from a regex: capture group 1, the named groups in order, or the whole match'
            cand --key-regex 'Key from a regex: capture group 1, the named groups in order, or the whole match'
            cand -j 'Key from the member at PATH of a JSON line (.status, .request.uri); repeatable'
            cand --json-key 'Key from the member at PATH of a JSON line (.status, .request.uri); repeatable'
            cand --logfmt-key 'Key from the value of NAME in a logfmt line (level=info status=200); repeatable'
            cand --match 'Count only lines matching RE; repeatable: a line matching any of them'
            cand --exclude 'Do not count lines matching RE; repeatable, like `grep -v -e RE`'
            cand --tag 'Add a constant key column NAME with VALUE to every row of every sink; repeatable'
            cand --value-field 'Add the integer in field N instead of 1 (a regex group named `value` does the same)'
            cand --json-value 'Add the integer member at PATH of a JSON line instead of 1 (.body_bytes_sent)'
            cand --logfmt-value 'Add the integer value of NAME in a logfmt line instead of 1'
            cand --bucket 'Count per time bucket of DURATION (1m, 1h, 1d) by each line''s own time'
            cand --time-field 'With --bucket, the time starts at field N (a CLF time spanning fields 4 and 5: 4)'
            cand --time-regex 'With --bucket, the time is group 1 of RE (or the group named `time`)'
            cand --time-format 'With --bucket, read the time with this strftime FORMAT (%s: epoch seconds, %ms: epoch ms)'
            cand --tz 'With --bucket, read times that carry no zone in ZONE (default: the machine''s zone)'
            cand --state 'Remember how far each file was counted in FILE, and resume from there'
            cand --max-line-bytes 'Skip lines longer than this many bytes (counted as oversize; at most 4 GiB)'
            cand -i 'Flush every DURATION (500ms, 10s, 1m30s); without it, once at end of input'
            cand --interval 'Flush every DURATION (500ms, 10s, 1m30s); without it, once at end of input'
            cand --jitter 'Delay each interval flush by a random 0..DURATION more'
            cand --max-keys 'Flush early whenever this many distinct keys are buffered'
            cand --flush-timeout 'At exit, keep retrying a failing sink this long before giving up on it'
            cand --fallback 'Write counts a sink could not take to this file (CSV) instead of stderr'
            cand --csv 'Append one row per key per flush to this CSV file'
            cand --sqlite 'Add the counts to this SQLite database (created if missing)'
            cand --postgres 'Add the counts to this PostgreSQL database (a URL or key=value connection string)'
            cand --host-id 'Name of this machine in PostgreSQL''s checkpoint table (default: the host name)'
            cand --exec 'Run `sh -c CMD` at each flush with the rows on its standard input (CSV with a header)'
            cand --exec-format 'Rows for --exec as csv (default), tsv or json lines'
            cand --exec-timeout 'Kill an --exec command still running after DURATION; the flush then counts as failed'
            cand --table 'Table for the totals (SQLite and PostgreSQL)'
            cand --format 'Format of the stdout sink'
            cand --top 'Print only the N largest counts of each flush to stdout'
            cand --explain 'Show the key (and value) each of the first N lines gives, or why it is skipped; write nothing else'
            cand -F 'Keep reading the files as they grow, across rotation and truncation, like `tail -F`'
            cand --follow 'Keep reading the files as they grow, across rotation and truncation, like `tail -F`'
            cand --from-start 'With --follow, count what the files already hold (default: start at their end)'
            cand --no-decompress 'Read compressed files and input as they are instead of decoding them'
            cand --stdout 'Print to stdout even when another sink is given'
            cand -q 'Print no summary line and no progress'
            cand --quiet 'Print no summary line and no progress'
            cand --progress 'Show progress on stderr even when it is not a terminal'
            cand --no-progress 'Never show progress'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
