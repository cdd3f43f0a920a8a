
use builtin;
use str;

set edit:completion:arg-completer[tagctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'tagctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'tagctl'= {
            cand --api-key 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments'
            cand --api-key-file 'Read the API key from a file (its first line, trimmed), ''-'' for standard input'
            cand --jwt 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]'
            cand --organization-id 'Organization ID: adds /organizations/{ID} to the base URL'
            cand --api-url 'Another API host: a local mock, a proxy (its path prefix is kept)'
            cand --output 'The final summary on standard output'
            cand --progress 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)'
            cand --sandbox 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
            cand --allow-insecure-http 'Allow credentials over plain http:// to a host other than loopback'
            cand -q 'Only errors on standard error (no progress, warnings or text summary)'
            cand --quiet 'Only errors on standard error (no progress, warnings or text summary)'
            cand -v 'One line per request on standard error: method, URL, attempt, status, wait'
            cand --verbose 'One line per request on standard error: method, URL, attempt, status, wait'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand tag 'Tag customers: POST /tags/{TAG}/customers'
            cand untag 'Remove the tag from customers: DELETE /tags/{TAG}/customers'
            cand verify 'Read the customers back and check which carry the tag now (a 204 only schedules a write): GET /customers?filter=id:…'
            cand completions 'Print a shell completion script'
            cand man 'Print the manual page (roff), from the same definitions as --help'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tagctl;tag'= {
            cand -f 'Read IDs from a file, ''-'' for standard input (repeatable)'
            cand --ids-file 'Read IDs from a file, ''-'' for standard input (repeatable)'
            cand --format 'How to read --ids-file: auto picks csv/tsv by extension, else sniffs (CSV if the first lines are, else one ID per line)'
            cand --delimiter 'The CSV field separator: one character, or ''tab'' [default: sniffed from the header line among , ; tab |, or Excel''s sep= line]. Implies CSV'
            cand --column 'The CSV column holding IDs: a header name (case-insensitive) or a 1-based index [default: customerId, customer_id, customer id or id, else the first]'
            cand --batch-size 'IDs per request'
            cand --concurrency 'Requests in flight at once'
            cand --max-retries 'Retries of one request after 429, 5xx, timeouts or connection errors'
            cand --timeout 'Timeout of one request, in seconds'
            cand --max-wait 'The longest single rate-limit wait, in seconds; past it the run stops and the rest is reported as unsent (verify: unchecked)'
            cand --failed-ids 'Write every valid ID that was not confirmed to this file, one per line'
            cand --journal 'Record the job and every confirmed batch here (synced to disk); rerun the same command after a crash to skip what it confirmed'
            cand --report 'Write every ID''s fate as CSV: customerId,outcome,status,detail,source'
            cand --verify-wait 'With --verify: re-check what does not match yet for up to this many seconds'
            cand --missing-ids 'With --verify: write every confirmed ID that does not match to this file'
            cand --api-key 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments'
            cand --api-key-file 'Read the API key from a file (its first line, trimmed), ''-'' for standard input'
            cand --jwt 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]'
            cand --organization-id 'Organization ID: adds /organizations/{ID} to the base URL'
            cand --api-url 'Another API host: a local mock, a proxy (its path prefix is kept)'
            cand --output 'The final summary on standard output'
            cand --progress 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)'
            cand --no-header 'The CSV/TSV has no header row'
            cand --no-dedupe 'Skip de-duplication (constant memory) for input known to be unique'
            cand --dry-run 'Check the input and print the requests that would be sent; sends nothing'
            cand --create-tag '(tag) Before the first write, make sure the tag exists as a customer tag: GET /tags/{TAG}, and POST /tags to create it when it is missing'
            cand --verify 'After the run, read the confirmed customers back and check that they carry (tag) or lack (untag) the tag; the summary gains "verify"'
            cand -y 'Do not ask before removing tags (untag asks only when standard input and standard error are terminals)'
            cand --yes 'Do not ask before removing tags (untag asks only when standard input and standard error are terminals)'
            cand --sandbox 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
            cand --allow-insecure-http 'Allow credentials over plain http:// to a host other than loopback'
            cand -q 'Only errors on standard error (no progress, warnings or text summary)'
            cand --quiet 'Only errors on standard error (no progress, warnings or text summary)'
            cand -v 'One line per request on standard error: method, URL, attempt, status, wait'
            cand --verbose 'One line per request on standard error: method, URL, attempt, status, wait'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tagctl;untag'= {
            cand -f 'Read IDs from a file, ''-'' for standard input (repeatable)'
            cand --ids-file 'Read IDs from a file, ''-'' for standard input (repeatable)'
            cand --format 'How to read --ids-file: auto picks csv/tsv by extension, else sniffs (CSV if the first lines are, else one ID per line)'
            cand --delimiter 'The CSV field separator: one character, or ''tab'' [default: sniffed from the header line among , ; tab |, or Excel''s sep= line]. Implies CSV'
            cand --column 'The CSV column holding IDs: a header name (case-insensitive) or a 1-based index [default: customerId, customer_id, customer id or id, else the first]'
            cand --batch-size 'IDs per request'
            cand --concurrency 'Requests in flight at once'
            cand --max-retries 'Retries of one request after 429, 5xx, timeouts or connection errors'
            cand --timeout 'Timeout of one request, in seconds'
            cand --max-wait 'The longest single rate-limit wait, in seconds; past it the run stops and the rest is reported as unsent (verify: unchecked)'
            cand --failed-ids 'Write every valid ID that was not confirmed to this file, one per line'
            cand --journal 'Record the job and every confirmed batch here (synced to disk); rerun the same command after a crash to skip what it confirmed'
            cand --report 'Write every ID''s fate as CSV: customerId,outcome,status,detail,source'
            cand --verify-wait 'With --verify: re-check what does not match yet for up to this many seconds'
            cand --missing-ids 'With --verify: write every confirmed ID that does not match to this file'
            cand --api-key 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments'
            cand --api-key-file 'Read the API key from a file (its first line, trimmed), ''-'' for standard input'
            cand --jwt 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]'
            cand --organization-id 'Organization ID: adds /organizations/{ID} to the base URL'
            cand --api-url 'Another API host: a local mock, a proxy (its path prefix is kept)'
            cand --output 'The final summary on standard output'
            cand --progress 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)'
            cand --no-header 'The CSV/TSV has no header row'
            cand --no-dedupe 'Skip de-duplication (constant memory) for input known to be unique'
            cand --dry-run 'Check the input and print the requests that would be sent; sends nothing'
            cand --create-tag '(tag) Before the first write, make sure the tag exists as a customer tag: GET /tags/{TAG}, and POST /tags to create it when it is missing'
            cand --verify 'After the run, read the confirmed customers back and check that they carry (tag) or lack (untag) the tag; the summary gains "verify"'
            cand -y 'Do not ask before removing tags (untag asks only when standard input and standard error are terminals)'
            cand --yes 'Do not ask before removing tags (untag asks only when standard input and standard error are terminals)'
            cand --sandbox 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
            cand --allow-insecure-http 'Allow credentials over plain http:// to a host other than loopback'
            cand -q 'Only errors on standard error (no progress, warnings or text summary)'
            cand --quiet 'Only errors on standard error (no progress, warnings or text summary)'
            cand -v 'One line per request on standard error: method, URL, attempt, status, wait'
            cand --verbose 'One line per request on standard error: method, URL, attempt, status, wait'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tagctl;verify'= {
            cand -f 'Read IDs from a file, ''-'' for standard input (repeatable)'
            cand --ids-file 'Read IDs from a file, ''-'' for standard input (repeatable)'
            cand --format 'How to read --ids-file: auto picks csv/tsv by extension, else sniffs (CSV if the first lines are, else one ID per line)'
            cand --delimiter 'The CSV field separator: one character, or ''tab'' [default: sniffed from the header line among , ; tab |, or Excel''s sep= line]. Implies CSV'
            cand --column 'The CSV column holding IDs: a header name (case-insensitive) or a 1-based index [default: customerId, customer_id, customer id or id, else the first]'
            cand --expect 'Whether the customers should carry the tag (after tag) or not (after untag)'
            cand --wait 'Re-check the IDs that do not match yet, at growing intervals, until they do or this many seconds have passed (0: check once)'
            cand --missing-ids 'Write every valid ID that does not match (missing, not found or unchecked) to this file, one per line; empty when all match'
            cand --report 'Write every ID''s final fate as CSV: customerId,outcome,status,detail,source (matching, missing, not_found, unchecked, duplicate, invalid)'
            cand --concurrency 'Requests in flight at once'
            cand --max-retries 'Retries of one request after 429, 5xx, timeouts or connection errors'
            cand --timeout 'Timeout of one request, in seconds'
            cand --max-wait 'The longest single rate-limit wait, in seconds; past it the run stops and the rest is reported as unsent (verify: unchecked)'
            cand --api-key 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments'
            cand --api-key-file 'Read the API key from a file (its first line, trimmed), ''-'' for standard input'
            cand --jwt 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]'
            cand --organization-id 'Organization ID: adds /organizations/{ID} to the base URL'
            cand --api-url 'Another API host: a local mock, a proxy (its path prefix is kept)'
            cand --output 'The final summary on standard output'
            cand --progress 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)'
            cand --no-header 'The CSV/TSV has no header row'
            cand --no-dedupe 'Skip de-duplication (constant memory) for input known to be unique'
            cand --sandbox 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
            cand --allow-insecure-http 'Allow credentials over plain http:// to a host other than loopback'
            cand -q 'Only errors on standard error (no progress, warnings or text summary)'
            cand --quiet 'Only errors on standard error (no progress, warnings or text summary)'
            cand -v 'One line per request on standard error: method, URL, attempt, status, wait'
            cand --verbose 'One line per request on standard error: method, URL, attempt, status, wait'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tagctl;completions'= {
            cand --api-key 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments'
            cand --api-key-file 'Read the API key from a file (its first line, trimmed), ''-'' for standard input'
            cand --jwt 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]'
            cand --organization-id 'Organization ID: adds /organizations/{ID} to the base URL'
            cand --api-url 'Another API host: a local mock, a proxy (its path prefix is kept)'
            cand --output 'The final summary on standard output'
            cand --progress 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)'
            cand --sandbox 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
            cand --allow-insecure-http 'Allow credentials over plain http:// to a host other than loopback'
            cand -q 'Only errors on standard error (no progress, warnings or text summary)'
            cand --quiet 'Only errors on standard error (no progress, warnings or text summary)'
            cand -v 'One line per request on standard error: method, URL, attempt, status, wait'
            cand --verbose 'One line per request on standard error: method, URL, attempt, status, wait'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tagctl;man'= {
            cand --api-key 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments'
            cand --api-key-file 'Read the API key from a file (its first line, trimmed), ''-'' for standard input'
            cand --jwt 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]'
            cand --organization-id 'Organization ID: adds /organizations/{ID} to the base URL'
            cand --api-url 'Another API host: a local mock, a proxy (its path prefix is kept)'
            cand --output 'The final summary on standard output'
            cand --progress 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)'
            cand --sandbox 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
            cand --allow-insecure-http 'Allow credentials over plain http:// to a host other than loopback'
            cand -q 'Only errors on standard error (no progress, warnings or text summary)'
            cand --quiet 'Only errors on standard error (no progress, warnings or text summary)'
            cand -v 'One line per request on standard error: method, URL, attempt, status, wait'
            cand --verbose 'One line per request on standard error: method, URL, attempt, status, wait'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tagctl;help'= {
            cand tag 'Tag customers: POST /tags/{TAG}/customers'
            cand untag 'Remove the tag from customers: DELETE /tags/{TAG}/customers'
            cand verify 'Read the customers back and check which carry the tag now (a 204 only schedules a write): GET /customers?filter=id:…'
            cand completions 'Print a shell completion script'
            cand man 'Print the manual page (roff), from the same definitions as --help'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tagctl;help;tag'= {
        }
        &'tagctl;help;untag'= {
        }
        &'tagctl;help;verify'= {
        }
        &'tagctl;help;completions'= {
        }
        &'tagctl;help;man'= {
        }
        &'tagctl;help;help'= {
        }
    ]
    $completions[$command]
}
