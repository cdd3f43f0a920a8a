# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tagctl_global_optspecs
    string join \n api-key= api-key-file= jwt= organization-id= sandbox api-url= allow-insecure-http output= progress= q/quiet v/verbose h/help V/version
end

function __fish_tagctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tagctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tagctl_using_subcommand
    set -l cmd (__fish_tagctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tagctl -n "__fish_tagctl_needs_command" -l api-key -d 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments' -r
complete -c tagctl -n "__fish_tagctl_needs_command" -l api-key-file -d 'Read the API key from a file (its first line, trimmed), \'-\' for standard input' -r -F
complete -c tagctl -n "__fish_tagctl_needs_command" -l jwt -d 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]' -r
complete -c tagctl -n "__fish_tagctl_needs_command" -l organization-id -d 'Organization ID: adds /organizations/{ID} to the base URL' -r
complete -c tagctl -n "__fish_tagctl_needs_command" -l api-url -d 'Another API host: a local mock, a proxy (its path prefix is kept)' -r
complete -c tagctl -n "__fish_tagctl_needs_command" -l output -d 'The final summary on standard output' -r -f -a "text\t'For people'
json\t'One JSON object, for scripts'"
complete -c tagctl -n "__fish_tagctl_needs_command" -l progress -d 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)' -r -f -a "auto\t'A bar on a terminal, plain lines otherwise'
bar\t'The bar on a terminal, nothing otherwise (never escapes in a log)'
plain\t'Plain status lines, one every 30 s and one when a long wait begins'
none\t'No progress at all'"
complete -c tagctl -n "__fish_tagctl_needs_command" -l sandbox -d 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
complete -c tagctl -n "__fish_tagctl_needs_command" -l allow-insecure-http -d 'Allow credentials over plain http:// to a host other than loopback'
complete -c tagctl -n "__fish_tagctl_needs_command" -s q -l quiet -d 'Only errors on standard error (no progress, warnings or text summary)'
complete -c tagctl -n "__fish_tagctl_needs_command" -s v -l verbose -d 'One line per request on standard error: method, URL, attempt, status, wait'
complete -c tagctl -n "__fish_tagctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tagctl -n "__fish_tagctl_needs_command" -s V -l version -d 'Print version'
complete -c tagctl -n "__fish_tagctl_needs_command" -f -a "tag" -d 'Tag customers: POST /tags/{TAG}/customers'
complete -c tagctl -n "__fish_tagctl_needs_command" -f -a "untag" -d 'Remove the tag from customers: DELETE /tags/{TAG}/customers'
complete -c tagctl -n "__fish_tagctl_needs_command" -f -a "verify" -d 'Read the customers back and check which carry the tag now (a 204 only schedules a write): GET /customers?filter=id:…'
complete -c tagctl -n "__fish_tagctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c tagctl -n "__fish_tagctl_needs_command" -f -a "man" -d 'Print the manual page (roff), from the same definitions as --help'
complete -c tagctl -n "__fish_tagctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -s f -l ids-file -d 'Read IDs from a file, \'-\' for standard input (repeatable)' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l format -d 'How to read --ids-file: auto picks csv/tsv by extension, else sniffs (CSV if the first lines are, else one ID per line)' -r -f -a "auto\t'By extension: .csv and .tsv as such; anything else sniffed from its first lines'
lines\t'One ID per line'
csv\t'Comma-separated values'
tsv\t'Tab-separated values'"
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l delimiter -d 'The CSV field separator: one character, or \'tab\' [default: sniffed from the header line among , ; tab |, or Excel\'s sep= line]. Implies CSV' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l column -d 'The CSV column holding IDs: a header name (case-insensitive) or a 1-based index [default: customerId, customer_id, customer id or id, else the first]' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l batch-size -d 'IDs per request' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l concurrency -d 'Requests in flight at once' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l max-retries -d 'Retries of one request after 429, 5xx, timeouts or connection errors' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l timeout -d 'Timeout of one request, in seconds' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l max-wait -d 'The longest single rate-limit wait, in seconds; past it the run stops and the rest is reported as unsent (verify: unchecked)' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l failed-ids -d 'Write every valid ID that was not confirmed to this file, one per line' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l journal -d 'Record the job and every confirmed batch here (synced to disk); rerun the same command after a crash to skip what it confirmed' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l report -d 'Write every ID\'s fate as CSV: customerId,outcome,status,detail,source' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l verify-wait -d 'With --verify: re-check what does not match yet for up to this many seconds' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l missing-ids -d 'With --verify: write every confirmed ID that does not match to this file' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l api-key -d 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l api-key-file -d 'Read the API key from a file (its first line, trimmed), \'-\' for standard input' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l jwt -d 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l organization-id -d 'Organization ID: adds /organizations/{ID} to the base URL' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l api-url -d 'Another API host: a local mock, a proxy (its path prefix is kept)' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l output -d 'The final summary on standard output' -r -f -a "text\t'For people'
json\t'One JSON object, for scripts'"
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l progress -d 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)' -r -f -a "auto\t'A bar on a terminal, plain lines otherwise'
bar\t'The bar on a terminal, nothing otherwise (never escapes in a log)'
plain\t'Plain status lines, one every 30 s and one when a long wait begins'
none\t'No progress at all'"
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l no-header -d 'The CSV/TSV has no header row'
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l no-dedupe -d 'Skip de-duplication (constant memory) for input known to be unique'
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l dry-run -d 'Check the input and print the requests that would be sent; sends nothing'
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l create-tag -d '(tag) Before the first write, make sure the tag exists as a customer tag: GET /tags/{TAG}, and POST /tags to create it when it is missing'
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l verify -d 'After the run, read the confirmed customers back and check that they carry (tag) or lack (untag) the tag; the summary gains "verify"'
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -s y -l yes -d 'Do not ask before removing tags (untag asks only when standard input and standard error are terminals)'
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l sandbox -d 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -l allow-insecure-http -d 'Allow credentials over plain http:// to a host other than loopback'
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -s q -l quiet -d 'Only errors on standard error (no progress, warnings or text summary)'
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -s v -l verbose -d 'One line per request on standard error: method, URL, attempt, status, wait'
complete -c tagctl -n "__fish_tagctl_using_subcommand tag" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -s f -l ids-file -d 'Read IDs from a file, \'-\' for standard input (repeatable)' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l format -d 'How to read --ids-file: auto picks csv/tsv by extension, else sniffs (CSV if the first lines are, else one ID per line)' -r -f -a "auto\t'By extension: .csv and .tsv as such; anything else sniffed from its first lines'
lines\t'One ID per line'
csv\t'Comma-separated values'
tsv\t'Tab-separated values'"
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l delimiter -d 'The CSV field separator: one character, or \'tab\' [default: sniffed from the header line among , ; tab |, or Excel\'s sep= line]. Implies CSV' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l column -d 'The CSV column holding IDs: a header name (case-insensitive) or a 1-based index [default: customerId, customer_id, customer id or id, else the first]' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l batch-size -d 'IDs per request' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l concurrency -d 'Requests in flight at once' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l max-retries -d 'Retries of one request after 429, 5xx, timeouts or connection errors' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l timeout -d 'Timeout of one request, in seconds' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l max-wait -d 'The longest single rate-limit wait, in seconds; past it the run stops and the rest is reported as unsent (verify: unchecked)' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l failed-ids -d 'Write every valid ID that was not confirmed to this file, one per line' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l journal -d 'Record the job and every confirmed batch here (synced to disk); rerun the same command after a crash to skip what it confirmed' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l report -d 'Write every ID\'s fate as CSV: customerId,outcome,status,detail,source' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l verify-wait -d 'With --verify: re-check what does not match yet for up to this many seconds' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l missing-ids -d 'With --verify: write every confirmed ID that does not match to this file' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l api-key -d 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l api-key-file -d 'Read the API key from a file (its first line, trimmed), \'-\' for standard input' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l jwt -d 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l organization-id -d 'Organization ID: adds /organizations/{ID} to the base URL' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l api-url -d 'Another API host: a local mock, a proxy (its path prefix is kept)' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l output -d 'The final summary on standard output' -r -f -a "text\t'For people'
json\t'One JSON object, for scripts'"
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l progress -d 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)' -r -f -a "auto\t'A bar on a terminal, plain lines otherwise'
bar\t'The bar on a terminal, nothing otherwise (never escapes in a log)'
plain\t'Plain status lines, one every 30 s and one when a long wait begins'
none\t'No progress at all'"
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l no-header -d 'The CSV/TSV has no header row'
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l no-dedupe -d 'Skip de-duplication (constant memory) for input known to be unique'
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l dry-run -d 'Check the input and print the requests that would be sent; sends nothing'
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l create-tag -d '(tag) Before the first write, make sure the tag exists as a customer tag: GET /tags/{TAG}, and POST /tags to create it when it is missing'
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l verify -d 'After the run, read the confirmed customers back and check that they carry (tag) or lack (untag) the tag; the summary gains "verify"'
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -s y -l yes -d 'Do not ask before removing tags (untag asks only when standard input and standard error are terminals)'
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l sandbox -d 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -l allow-insecure-http -d 'Allow credentials over plain http:// to a host other than loopback'
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -s q -l quiet -d 'Only errors on standard error (no progress, warnings or text summary)'
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -s v -l verbose -d 'One line per request on standard error: method, URL, attempt, status, wait'
complete -c tagctl -n "__fish_tagctl_using_subcommand untag" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -s f -l ids-file -d 'Read IDs from a file, \'-\' for standard input (repeatable)' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l format -d 'How to read --ids-file: auto picks csv/tsv by extension, else sniffs (CSV if the first lines are, else one ID per line)' -r -f -a "auto\t'By extension: .csv and .tsv as such; anything else sniffed from its first lines'
lines\t'One ID per line'
csv\t'Comma-separated values'
tsv\t'Tab-separated values'"
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l delimiter -d 'The CSV field separator: one character, or \'tab\' [default: sniffed from the header line among , ; tab |, or Excel\'s sep= line]. Implies CSV' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l column -d 'The CSV column holding IDs: a header name (case-insensitive) or a 1-based index [default: customerId, customer_id, customer id or id, else the first]' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l expect -d 'Whether the customers should carry the tag (after tag) or not (after untag)' -r -f -a "present\t'The customer carries the tag (after tag)'
absent\t'The customer does not carry the tag (after untag)'"
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l wait -d 'Re-check the IDs that do not match yet, at growing intervals, until they do or this many seconds have passed (0: check once)' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l missing-ids -d 'Write every valid ID that does not match (missing, not found or unchecked) to this file, one per line; empty when all match' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l report -d 'Write every ID\'s final fate as CSV: customerId,outcome,status,detail,source (matching, missing, not_found, unchecked, duplicate, invalid)' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l concurrency -d 'Requests in flight at once' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l max-retries -d 'Retries of one request after 429, 5xx, timeouts or connection errors' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l timeout -d 'Timeout of one request, in seconds' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l max-wait -d 'The longest single rate-limit wait, in seconds; past it the run stops and the rest is reported as unsent (verify: unchecked)' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l api-key -d 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l api-key-file -d 'Read the API key from a file (its first line, trimmed), \'-\' for standard input' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l jwt -d 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l organization-id -d 'Organization ID: adds /organizations/{ID} to the base URL' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l api-url -d 'Another API host: a local mock, a proxy (its path prefix is kept)' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l output -d 'The final summary on standard output' -r -f -a "text\t'For people'
json\t'One JSON object, for scripts'"
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l progress -d 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)' -r -f -a "auto\t'A bar on a terminal, plain lines otherwise'
bar\t'The bar on a terminal, nothing otherwise (never escapes in a log)'
plain\t'Plain status lines, one every 30 s and one when a long wait begins'
none\t'No progress at all'"
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l no-header -d 'The CSV/TSV has no header row'
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l no-dedupe -d 'Skip de-duplication (constant memory) for input known to be unique'
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l sandbox -d 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -l allow-insecure-http -d 'Allow credentials over plain http:// to a host other than loopback'
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -s q -l quiet -d 'Only errors on standard error (no progress, warnings or text summary)'
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -s v -l verbose -d 'One line per request on standard error: method, URL, attempt, status, wait'
complete -c tagctl -n "__fish_tagctl_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -l api-key -d 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -l api-key-file -d 'Read the API key from a file (its first line, trimmed), \'-\' for standard input' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -l jwt -d 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -l organization-id -d 'Organization ID: adds /organizations/{ID} to the base URL' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -l api-url -d 'Another API host: a local mock, a proxy (its path prefix is kept)' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -l output -d 'The final summary on standard output' -r -f -a "text\t'For people'
json\t'One JSON object, for scripts'"
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -l progress -d 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)' -r -f -a "auto\t'A bar on a terminal, plain lines otherwise'
bar\t'The bar on a terminal, nothing otherwise (never escapes in a log)'
plain\t'Plain status lines, one every 30 s and one when a long wait begins'
none\t'No progress at all'"
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -l sandbox -d 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -l allow-insecure-http -d 'Allow credentials over plain http:// to a host other than loopback'
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -s q -l quiet -d 'Only errors on standard error (no progress, warnings or text summary)'
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -s v -l verbose -d 'One line per request on standard error: method, URL, attempt, status, wait'
complete -c tagctl -n "__fish_tagctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -l api-key -d 'Secret API key, sent as REB-APIKEY [env: REBILLY_API_KEY]. Prefer the environment or --api-key-file: other users can read process arguments' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -l api-key-file -d 'Read the API key from a file (its first line, trimmed), \'-\' for standard input' -r -F
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -l jwt -d 'JSON Web Token, sent as Authorization: Bearer [env: REBILLY_JWT]' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -l organization-id -d 'Organization ID: adds /organizations/{ID} to the base URL' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -l api-url -d 'Another API host: a local mock, a proxy (its path prefix is kept)' -r
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -l output -d 'The final summary on standard output' -r -f -a "text\t'For people'
json\t'One JSON object, for scripts'"
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -l progress -d 'Progress on standard error: auto draws a bar on a terminal and prints plain status lines otherwise (every 30 s, and when a long rate-limit wait begins)' -r -f -a "auto\t'A bar on a terminal, plain lines otherwise'
bar\t'The bar on a terminal, nothing otherwise (never escapes in a log)'
plain\t'Plain status lines, one every 30 s and one when a long wait begins'
none\t'No progress at all'"
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -l sandbox -d 'Use the sandbox host (api-sandbox.rebilly.com) instead of live'
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -l allow-insecure-http -d 'Allow credentials over plain http:// to a host other than loopback'
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -s q -l quiet -d 'Only errors on standard error (no progress, warnings or text summary)'
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -s v -l verbose -d 'One line per request on standard error: method, URL, attempt, status, wait'
complete -c tagctl -n "__fish_tagctl_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tagctl -n "__fish_tagctl_using_subcommand help; and not __fish_seen_subcommand_from tag untag verify completions man help" -f -a "tag" -d 'Tag customers: POST /tags/{TAG}/customers'
complete -c tagctl -n "__fish_tagctl_using_subcommand help; and not __fish_seen_subcommand_from tag untag verify completions man help" -f -a "untag" -d 'Remove the tag from customers: DELETE /tags/{TAG}/customers'
complete -c tagctl -n "__fish_tagctl_using_subcommand help; and not __fish_seen_subcommand_from tag untag verify completions man help" -f -a "verify" -d 'Read the customers back and check which carry the tag now (a 204 only schedules a write): GET /customers?filter=id:…'
complete -c tagctl -n "__fish_tagctl_using_subcommand help; and not __fish_seen_subcommand_from tag untag verify completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c tagctl -n "__fish_tagctl_using_subcommand help; and not __fish_seen_subcommand_from tag untag verify completions man help" -f -a "man" -d 'Print the manual page (roff), from the same definitions as --help'
complete -c tagctl -n "__fish_tagctl_using_subcommand help; and not __fish_seen_subcommand_from tag untag verify completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
