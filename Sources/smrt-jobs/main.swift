import Foundation

// Exit codes: 0 ok, 1 failure, 2 usage error, 3 `wait` timed out. See `CLI.run`.
exit(await CLI.run())
