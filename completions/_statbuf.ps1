
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'statbuf' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'statbuf'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'statbuf' {
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Key from whitespace field N, like awk''s $N; repeat for a composite key')
            [CompletionResult]::new('--key-field', '--key-field', [CompletionResultType]::ParameterName, 'Key from whitespace field N, like awk''s $N; repeat for a composite key')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Split fields at this single byte instead of runs of blanks (`\t` for tabs)')
            [CompletionResult]::new('--delimiter', '--delimiter', [CompletionResultType]::ParameterName, 'Split fields at this single byte instead of runs of blanks (`\t` for tabs)')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Key from a regex: capture group 1, the named groups in order, or the whole match')
            [CompletionResult]::new('--key-regex', '--key-regex', [CompletionResultType]::ParameterName, 'Key from a regex: capture group 1, the named groups in order, or the whole match')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Key from the member at PATH of a JSON line (.status, .request.uri); repeatable')
            [CompletionResult]::new('--json-key', '--json-key', [CompletionResultType]::ParameterName, 'Key from the member at PATH of a JSON line (.status, .request.uri); repeatable')
            [CompletionResult]::new('--logfmt-key', '--logfmt-key', [CompletionResultType]::ParameterName, 'Key from the value of NAME in a logfmt line (level=info status=200); repeatable')
            [CompletionResult]::new('--match', '--match', [CompletionResultType]::ParameterName, 'Count only lines matching RE; repeatable: a line matching any of them')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Do not count lines matching RE; repeatable, like `grep -v -e RE`')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Add a constant key column NAME with VALUE to every row of every sink; repeatable')
            [CompletionResult]::new('--value-field', '--value-field', [CompletionResultType]::ParameterName, 'Add the integer in field N instead of 1 (a regex group named `value` does the same)')
            [CompletionResult]::new('--json-value', '--json-value', [CompletionResultType]::ParameterName, 'Add the integer member at PATH of a JSON line instead of 1 (.body_bytes_sent)')
            [CompletionResult]::new('--logfmt-value', '--logfmt-value', [CompletionResultType]::ParameterName, 'Add the integer value of NAME in a logfmt line instead of 1')
            [CompletionResult]::new('--bucket', '--bucket', [CompletionResultType]::ParameterName, 'Count per time bucket of DURATION (1m, 1h, 1d) by each line''s own time')
            [CompletionResult]::new('--time-field', '--time-field', [CompletionResultType]::ParameterName, 'With --bucket, the time starts at field N (a CLF time spanning fields 4 and 5: 4)')
            [CompletionResult]::new('--time-regex', '--time-regex', [CompletionResultType]::ParameterName, 'With --bucket, the time is group 1 of RE (or the group named `time`)')
            [CompletionResult]::new('--time-format', '--time-format', [CompletionResultType]::ParameterName, 'With --bucket, read the time with this strftime FORMAT (%s: epoch seconds, %ms: epoch ms)')
            [CompletionResult]::new('--tz', '--tz', [CompletionResultType]::ParameterName, 'With --bucket, read times that carry no zone in ZONE (default: the machine''s zone)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Remember how far each file was counted in FILE, and resume from there')
            [CompletionResult]::new('--max-line-bytes', '--max-line-bytes', [CompletionResultType]::ParameterName, 'Skip lines longer than this many bytes (counted as oversize; at most 4 GiB)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Flush every DURATION (500ms, 10s, 1m30s); without it, once at end of input')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Flush every DURATION (500ms, 10s, 1m30s); without it, once at end of input')
            [CompletionResult]::new('--jitter', '--jitter', [CompletionResultType]::ParameterName, 'Delay each interval flush by a random 0..DURATION more')
            [CompletionResult]::new('--max-keys', '--max-keys', [CompletionResultType]::ParameterName, 'Flush early whenever this many distinct keys are buffered')
            [CompletionResult]::new('--flush-timeout', '--flush-timeout', [CompletionResultType]::ParameterName, 'At exit, keep retrying a failing sink this long before giving up on it')
            [CompletionResult]::new('--fallback', '--fallback', [CompletionResultType]::ParameterName, 'Write counts a sink could not take to this file (CSV) instead of stderr')
            [CompletionResult]::new('--csv', '--csv', [CompletionResultType]::ParameterName, 'Append one row per key per flush to this CSV file')
            [CompletionResult]::new('--sqlite', '--sqlite', [CompletionResultType]::ParameterName, 'Add the counts to this SQLite database (created if missing)')
            [CompletionResult]::new('--postgres', '--postgres', [CompletionResultType]::ParameterName, 'Add the counts to this PostgreSQL database (a URL or key=value connection string)')
            [CompletionResult]::new('--host-id', '--host-id', [CompletionResultType]::ParameterName, 'Name of this machine in PostgreSQL''s checkpoint table (default: the host name)')
            [CompletionResult]::new('--exec', '--exec', [CompletionResultType]::ParameterName, 'Run `sh -c CMD` at each flush with the rows on its standard input (CSV with a header)')
            [CompletionResult]::new('--exec-format', '--exec-format', [CompletionResultType]::ParameterName, 'Rows for --exec as csv (default), tsv or json lines')
            [CompletionResult]::new('--exec-timeout', '--exec-timeout', [CompletionResultType]::ParameterName, 'Kill an --exec command still running after DURATION; the flush then counts as failed')
            [CompletionResult]::new('--table', '--table', [CompletionResultType]::ParameterName, 'Table for the totals (SQLite and PostgreSQL)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Format of the stdout sink')
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'Print only the N largest counts of each flush to stdout')
            [CompletionResult]::new('--explain', '--explain', [CompletionResultType]::ParameterName, 'Show the key (and value) each of the first N lines gives, or why it is skipped; write nothing else')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Keep reading the files as they grow, across rotation and truncation, like `tail -F`')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep reading the files as they grow, across rotation and truncation, like `tail -F`')
            [CompletionResult]::new('--from-start', '--from-start', [CompletionResultType]::ParameterName, 'With --follow, count what the files already hold (default: start at their end)')
            [CompletionResult]::new('--no-decompress', '--no-decompress', [CompletionResultType]::ParameterName, 'Read compressed files and input as they are instead of decoding them')
            [CompletionResult]::new('--stdout', '--stdout', [CompletionResultType]::ParameterName, 'Print to stdout even when another sink is given')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print no summary line and no progress')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print no summary line and no progress')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show progress on stderr even when it is not a terminal')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show progress')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
