
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'tagctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'tagctl'
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
        'tagctl' {
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments')
            [CompletionResult]::new('--api-key-file', '--api-key-file', [CompletionResultType]::ParameterName, 'Read the API key from a file (its first line, trimmed), ''-'' for standard input')
            [CompletionResult]::new('--jwt', '--jwt', [CompletionResultType]::ParameterName, 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]')
            [CompletionResult]::new('--organization-id', '--organization-id', [CompletionResultType]::ParameterName, 'Organization ID: adds /organizations/{ID} to the base URL')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Another API host: a local mock, a proxy (its path prefix is kept)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The final summary on standard output')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)')
            [CompletionResult]::new('--sandbox', '--sandbox', [CompletionResultType]::ParameterName, 'Use the sandbox host (api-sandbox.rebilly.com) instead of live')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow credentials over plain http:// to a host other than loopback')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('tag', 'tag', [CompletionResultType]::ParameterValue, 'Tag customers: POST /tags/{TAG}/customers')
            [CompletionResult]::new('untag', 'untag', [CompletionResultType]::ParameterValue, 'Remove the tag from customers: DELETE /tags/{TAG}/customers')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Read the customers back and check which carry the tag now (a 204 only schedules a write): GET /customers?filter=id:…')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the manual page (roff), from the same definitions as --help')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tagctl;tag' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Read IDs from a file, ''-'' for standard input (repeatable)')
            [CompletionResult]::new('--ids-file', '--ids-file', [CompletionResultType]::ParameterName, 'Read IDs from a file, ''-'' for standard input (repeatable)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to read --ids-file: auto picks csv/tsv by extension, else sniffs (CSV if the first lines are, else one ID per line)')
            [CompletionResult]::new('--delimiter', '--delimiter', [CompletionResultType]::ParameterName, 'The CSV field separator: one character, or ''tab'' [default: sniffed from the header line among , ; tab |, or Excel''s sep= line]. Implies CSV')
            [CompletionResult]::new('--column', '--column', [CompletionResultType]::ParameterName, 'The CSV column holding IDs: a header name (case-insensitive) or a 1-based index [default: customerId, customer_id, customer id or id, else the first]')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'IDs per request')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight at once')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Retries of one request after 429, 5xx, timeouts or connection errors')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of one request, in seconds')
            [CompletionResult]::new('--max-wait', '--max-wait', [CompletionResultType]::ParameterName, 'The longest single rate-limit wait, in seconds; past it the run stops and the rest is reported as unsent (verify: unchecked)')
            [CompletionResult]::new('--failed-ids', '--failed-ids', [CompletionResultType]::ParameterName, 'Write every valid ID that was not confirmed to this file, one per line')
            [CompletionResult]::new('--journal', '--journal', [CompletionResultType]::ParameterName, 'Record the job and every confirmed batch here (synced to disk); rerun the same command after a crash to skip what it confirmed')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Write every ID''s fate as CSV: customerId,outcome,status,detail,source')
            [CompletionResult]::new('--verify-wait', '--verify-wait', [CompletionResultType]::ParameterName, 'With --verify: re-check what does not match yet for up to this many seconds')
            [CompletionResult]::new('--missing-ids', '--missing-ids', [CompletionResultType]::ParameterName, 'With --verify: write every confirmed ID that does not match to this file')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments')
            [CompletionResult]::new('--api-key-file', '--api-key-file', [CompletionResultType]::ParameterName, 'Read the API key from a file (its first line, trimmed), ''-'' for standard input')
            [CompletionResult]::new('--jwt', '--jwt', [CompletionResultType]::ParameterName, 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]')
            [CompletionResult]::new('--organization-id', '--organization-id', [CompletionResultType]::ParameterName, 'Organization ID: adds /organizations/{ID} to the base URL')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Another API host: a local mock, a proxy (its path prefix is kept)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The final summary on standard output')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)')
            [CompletionResult]::new('--no-header', '--no-header', [CompletionResultType]::ParameterName, 'The CSV/TSV has no header row')
            [CompletionResult]::new('--no-dedupe', '--no-dedupe', [CompletionResultType]::ParameterName, 'Skip de-duplication (constant memory) for input known to be unique')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Check the input and print the requests that would be sent; sends nothing')
            [CompletionResult]::new('--create-tag', '--create-tag', [CompletionResultType]::ParameterName, '(tag) Before the first write, make sure the tag exists as a customer tag: GET /tags/{TAG}, and POST /tags to create it when it is missing')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'After the run, read the confirmed customers back and check that they carry (tag) or lack (untag) the tag; the summary gains "verify"')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask before removing tags (untag asks only when standard input and standard error are terminals)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask before removing tags (untag asks only when standard input and standard error are terminals)')
            [CompletionResult]::new('--sandbox', '--sandbox', [CompletionResultType]::ParameterName, 'Use the sandbox host (api-sandbox.rebilly.com) instead of live')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow credentials over plain http:// to a host other than loopback')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tagctl;untag' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Read IDs from a file, ''-'' for standard input (repeatable)')
            [CompletionResult]::new('--ids-file', '--ids-file', [CompletionResultType]::ParameterName, 'Read IDs from a file, ''-'' for standard input (repeatable)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to read --ids-file: auto picks csv/tsv by extension, else sniffs (CSV if the first lines are, else one ID per line)')
            [CompletionResult]::new('--delimiter', '--delimiter', [CompletionResultType]::ParameterName, 'The CSV field separator: one character, or ''tab'' [default: sniffed from the header line among , ; tab |, or Excel''s sep= line]. Implies CSV')
            [CompletionResult]::new('--column', '--column', [CompletionResultType]::ParameterName, 'The CSV column holding IDs: a header name (case-insensitive) or a 1-based index [default: customerId, customer_id, customer id or id, else the first]')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'IDs per request')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight at once')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Retries of one request after 429, 5xx, timeouts or connection errors')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of one request, in seconds')
            [CompletionResult]::new('--max-wait', '--max-wait', [CompletionResultType]::ParameterName, 'The longest single rate-limit wait, in seconds; past it the run stops and the rest is reported as unsent (verify: unchecked)')
            [CompletionResult]::new('--failed-ids', '--failed-ids', [CompletionResultType]::ParameterName, 'Write every valid ID that was not confirmed to this file, one per line')
            [CompletionResult]::new('--journal', '--journal', [CompletionResultType]::ParameterName, 'Record the job and every confirmed batch here (synced to disk); rerun the same command after a crash to skip what it confirmed')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Write every ID''s fate as CSV: customerId,outcome,status,detail,source')
            [CompletionResult]::new('--verify-wait', '--verify-wait', [CompletionResultType]::ParameterName, 'With --verify: re-check what does not match yet for up to this many seconds')
            [CompletionResult]::new('--missing-ids', '--missing-ids', [CompletionResultType]::ParameterName, 'With --verify: write every confirmed ID that does not match to this file')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments')
            [CompletionResult]::new('--api-key-file', '--api-key-file', [CompletionResultType]::ParameterName, 'Read the API key from a file (its first line, trimmed), ''-'' for standard input')
            [CompletionResult]::new('--jwt', '--jwt', [CompletionResultType]::ParameterName, 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]')
            [CompletionResult]::new('--organization-id', '--organization-id', [CompletionResultType]::ParameterName, 'Organization ID: adds /organizations/{ID} to the base URL')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Another API host: a local mock, a proxy (its path prefix is kept)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The final summary on standard output')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)')
            [CompletionResult]::new('--no-header', '--no-header', [CompletionResultType]::ParameterName, 'The CSV/TSV has no header row')
            [CompletionResult]::new('--no-dedupe', '--no-dedupe', [CompletionResultType]::ParameterName, 'Skip de-duplication (constant memory) for input known to be unique')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Check the input and print the requests that would be sent; sends nothing')
            [CompletionResult]::new('--create-tag', '--create-tag', [CompletionResultType]::ParameterName, '(tag) Before the first write, make sure the tag exists as a customer tag: GET /tags/{TAG}, and POST /tags to create it when it is missing')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'After the run, read the confirmed customers back and check that they carry (tag) or lack (untag) the tag; the summary gains "verify"')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask before removing tags (untag asks only when standard input and standard error are terminals)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask before removing tags (untag asks only when standard input and standard error are terminals)')
            [CompletionResult]::new('--sandbox', '--sandbox', [CompletionResultType]::ParameterName, 'Use the sandbox host (api-sandbox.rebilly.com) instead of live')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow credentials over plain http:// to a host other than loopback')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tagctl;verify' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Read IDs from a file, ''-'' for standard input (repeatable)')
            [CompletionResult]::new('--ids-file', '--ids-file', [CompletionResultType]::ParameterName, 'Read IDs from a file, ''-'' for standard input (repeatable)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to read --ids-file: auto picks csv/tsv by extension, else sniffs (CSV if the first lines are, else one ID per line)')
            [CompletionResult]::new('--delimiter', '--delimiter', [CompletionResultType]::ParameterName, 'The CSV field separator: one character, or ''tab'' [default: sniffed from the header line among , ; tab |, or Excel''s sep= line]. Implies CSV')
            [CompletionResult]::new('--column', '--column', [CompletionResultType]::ParameterName, 'The CSV column holding IDs: a header name (case-insensitive) or a 1-based index [default: customerId, customer_id, customer id or id, else the first]')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'Whether the customers should carry the tag (after tag) or not (after untag)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Re-check the IDs that do not match yet, at growing intervals, until they do or this many seconds have passed (0: check once)')
            [CompletionResult]::new('--missing-ids', '--missing-ids', [CompletionResultType]::ParameterName, 'Write every valid ID that does not match (missing, not found or unchecked) to this file, one per line; empty when all match')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Write every ID''s final fate as CSV: customerId,outcome,status,detail,source (matching, missing, not_found, unchecked, duplicate, invalid)')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight at once')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Retries of one request after 429, 5xx, timeouts or connection errors')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of one request, in seconds')
            [CompletionResult]::new('--max-wait', '--max-wait', [CompletionResultType]::ParameterName, 'The longest single rate-limit wait, in seconds; past it the run stops and the rest is reported as unsent (verify: unchecked)')
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments')
            [CompletionResult]::new('--api-key-file', '--api-key-file', [CompletionResultType]::ParameterName, 'Read the API key from a file (its first line, trimmed), ''-'' for standard input')
            [CompletionResult]::new('--jwt', '--jwt', [CompletionResultType]::ParameterName, 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]')
            [CompletionResult]::new('--organization-id', '--organization-id', [CompletionResultType]::ParameterName, 'Organization ID: adds /organizations/{ID} to the base URL')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Another API host: a local mock, a proxy (its path prefix is kept)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The final summary on standard output')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)')
            [CompletionResult]::new('--no-header', '--no-header', [CompletionResultType]::ParameterName, 'The CSV/TSV has no header row')
            [CompletionResult]::new('--no-dedupe', '--no-dedupe', [CompletionResultType]::ParameterName, 'Skip de-duplication (constant memory) for input known to be unique')
            [CompletionResult]::new('--sandbox', '--sandbox', [CompletionResultType]::ParameterName, 'Use the sandbox host (api-sandbox.rebilly.com) instead of live')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow credentials over plain http:// to a host other than loopback')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tagctl;completions' {
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments')
            [CompletionResult]::new('--api-key-file', '--api-key-file', [CompletionResultType]::ParameterName, 'Read the API key from a file (its first line, trimmed), ''-'' for standard input')
            [CompletionResult]::new('--jwt', '--jwt', [CompletionResultType]::ParameterName, 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]')
            [CompletionResult]::new('--organization-id', '--organization-id', [CompletionResultType]::ParameterName, 'Organization ID: adds /organizations/{ID} to the base URL')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Another API host: a local mock, a proxy (its path prefix is kept)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The final summary on standard output')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)')
            [CompletionResult]::new('--sandbox', '--sandbox', [CompletionResultType]::ParameterName, 'Use the sandbox host (api-sandbox.rebilly.com) instead of live')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow credentials over plain http:// to a host other than loopback')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tagctl;man' {
            [CompletionResult]::new('--api-key', '--api-key', [CompletionResultType]::ParameterName, 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments')
            [CompletionResult]::new('--api-key-file', '--api-key-file', [CompletionResultType]::ParameterName, 'Read the API key from a file (its first line, trimmed), ''-'' for standard input')
            [CompletionResult]::new('--jwt', '--jwt', [CompletionResultType]::ParameterName, 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]')
            [CompletionResult]::new('--organization-id', '--organization-id', [CompletionResultType]::ParameterName, 'Organization ID: adds /organizations/{ID} to the base URL')
            [CompletionResult]::new('--api-url', '--api-url', [CompletionResultType]::ParameterName, 'Another API host: a local mock, a proxy (its path prefix is kept)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The final summary on standard output')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)')
            [CompletionResult]::new('--sandbox', '--sandbox', [CompletionResultType]::ParameterName, 'Use the sandbox host (api-sandbox.rebilly.com) instead of live')
            [CompletionResult]::new('--allow-insecure-http', '--allow-insecure-http', [CompletionResultType]::ParameterName, 'Allow credentials over plain http:// to a host other than loopback')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only errors on standard error (no progress, warnings or text summary)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'One line per request on standard error: method, URL, attempt, status, wait')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'tagctl;help' {
            [CompletionResult]::new('tag', 'tag', [CompletionResultType]::ParameterValue, 'Tag customers: POST /tags/{TAG}/customers')
            [CompletionResult]::new('untag', 'untag', [CompletionResultType]::ParameterValue, 'Remove the tag from customers: DELETE /tags/{TAG}/customers')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Read the customers back and check which carry the tag now (a 204 only schedules a write): GET /customers?filter=id:…')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the manual page (roff), from the same definitions as --help')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tagctl;help;tag' {
            break
        }
        'tagctl;help;untag' {
            break
        }
        'tagctl;help;verify' {
            break
        }
        'tagctl;help;completions' {
            break
        }
        'tagctl;help;man' {
            break
        }
        'tagctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
