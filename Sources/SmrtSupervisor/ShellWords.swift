/// Splits a command line into words the way a POSIX shell would, without running anything.
///
/// Supported: whitespace (space, tab, newline) between words; single quotes (everything literal);
/// double quotes, where a backslash escapes only `"` `\` `$` `` ` `` and newline; a backslash
/// outside quotes escaping the next character; backslash-newline as a line continuation; quoted empty
/// strings (`''`) as empty words. Not supported, on purpose: expansions (`$VAR`, `*`, `~`), comments,
/// and operators (`|`, `;`, `>`): those characters stay literal, so `sh -c '...'` is how to use them.
///
/// Used for options like `--worker-exec "sh -c 'echo hi'"`.
public enum ShellWords {
    /// Why a command line could not be split.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// A quote (`'` or `"`) opened at this character offset is never closed.
        case unterminatedQuote(Character, offset: Int)
        /// The command line ends with a lone backslash.
        case trailingBackslash

        public var description: String {
            switch self {
            case .unterminatedQuote(let quote, let offset):
                let name = quote == "'" ? "single" : "double"
                return "unterminated \(name) quote (\(quote)) opened at offset \(offset)"
            case .trailingBackslash:
                return "command line ends with an unescaped backslash"
            }
        }
    }

    /// The words of `commandLine`; throws ``Error`` on an unterminated quote or trailing backslash.
    public static func split(_ commandLine: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        // Separate from `current.isEmpty`: `''` is a word even though it has no characters.
        var inWord = false
        var chars = Array(commandLine).makeIterator()
        var offset = -1

        func next() -> Character? {
            guard let c = chars.next() else { return nil }
            offset += 1
            return c
        }

        while let c = next() {
            switch c {
            case " ", "\t", "\n", "\r\n":
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            case "\\":
                guard let escaped = next() else { throw Error.trailingBackslash }
                if escaped != "\n" {
                    current.append(escaped)
                    inWord = true
                }
            case "'":
                let start = offset
                inWord = true
                while true {
                    guard let q = next() else { throw Error.unterminatedQuote("'", offset: start) }
                    if q == "'" { break }
                    current.append(q)
                }
            case "\"":
                let start = offset
                inWord = true
                while true {
                    guard let q = next() else { throw Error.unterminatedQuote("\"", offset: start) }
                    if q == "\"" { break }
                    if q == "\\" {
                        guard let escaped = next() else { throw Error.unterminatedQuote("\"", offset: start) }
                        switch escaped {
                        case "\"", "\\", "$", "`": current.append(escaped)
                        case "\n": break
                        default:
                            current.append("\\")
                            current.append(escaped)
                        }
                    } else {
                        current.append(q)
                    }
                }
            default:
                current.append(c)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }
}
