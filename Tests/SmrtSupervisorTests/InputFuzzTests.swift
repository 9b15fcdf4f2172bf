import Foundation
import SmrtJobs
import SmrtProtocol
import Testing

/// Bad input, fuzzed: cron expressions, delays, priorities, args JSON, batch lines and protocol frames. Each
/// parser gets thousands of inputs made by a grammar-aware mutator (valid examples with tokens of their grammar
/// and random characters inserted, deleted, replaced or duplicated). Every input must either parse or throw an
/// error whose description is non-empty and names the field or thing at fault; never crash, never hang (each
/// input is timed; the slowest is reported and must stay far below a second).
///
/// Reproducible: the seed is fixed unless SMRT_FUZZ_SEED is set, and printed with every failure.
/// SMRT_FUZZ_ITERATIONS sets the inputs per parser (default 3000); `scripts/fuzz.sh` runs these tests longer.
@Suite struct InputFuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["SMRT_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 3000
    static let seed = ProcessInfo.processInfo.environment["SMRT_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_F022

    /// Characters that break parsers in interesting ways, on top of each grammar's tokens.
    static let oddities = [
        "\u{0}", " ", "\t", "\n", "é", "😀", "\u{FFFD}", "٣", "\u{202E}", "-", "+", ".", "\\", "\"", "'", "9999999999999999999999",
    ]

    /// Mutates `text` 1-4 times: insert a token or odd character, delete a range, replace a range, duplicate a
    /// range, or swap case.
    static func mutate(_ text: String, tokens: [String], using generator: inout SeededGenerator) -> String {
        var scalars = Array(text.unicodeScalars)
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            let position = Int.random(in: 0...scalars.count, using: &generator)
            let token = Array(
                (Bool.random(using: &generator) ? tokens : oddities).randomElement(using: &generator)!.unicodeScalars)
            let end = min(scalars.count, position + Int.random(in: 0...4, using: &generator))
            switch Int.random(in: 0..<6, using: &generator) {
            case 0, 1: scalars.insert(contentsOf: token, at: position)
            case 2: scalars.removeSubrange(position..<end)
            case 3: scalars.replaceSubrange(position..<end, with: token)
            case 4: scalars.insert(contentsOf: Array(scalars[position..<end]), at: position)
            default:
                if position < scalars.count {
                    let swapped = String(scalars[position]).uppercased() == String(scalars[position])
                        ? String(scalars[position]).lowercased() : String(scalars[position]).uppercased()
                    scalars.replaceSubrange(position..<(position + 1), with: Array(swapped.unicodeScalars))
                }
            }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    /// Feeds `iterations` mutants of `corpus` to `body`; `body` throws only for a broken expectation about an
    /// error (returned as text), never for the parser's own error, which it checks itself.
    static func fuzz(
        _ name: String, corpus: [String], tokens: [String], salt: UInt64,
        _ body: (String) -> String?
    ) {
        var generator = SeededGenerator(seed: seed ^ salt)
        var slowest: (Double, String) = (0, "")
        var problems: [String] = []
        for _ in 0..<iterations {
            let input = mutate(corpus.randomElement(using: &generator)!, tokens: tokens, using: &generator)
            let start = DispatchTime.now().uptimeNanoseconds
            let problem = body(input)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if seconds > slowest.0 { slowest = (seconds, input) }
            if let problem, problems.count < 10 { problems.append("\(problem) for input \(input.debugDescription)") }
        }
        #expect(problems.isEmpty, "\(name), seed \(seed): \(problems.joined(separator: "\n"))")
        #expect(slowest.0 < 0.5, "\(name), seed \(seed): \(slowest.0) s for input \(slowest.1.debugDescription)")
    }

    @Test func cronExpressions() {
        let corpus = [
            "*/15 9-17 * * MON-FRI", "0 0 13 * FRI", "5,10-20/5 */2 1-31 JAN-DEC SUN-SAT", "@daily", "@hourly",
            "0 9 * * 1-5", "59 23 31 12 7", "* * * * *", "0 0 29 2 *",
        ]
        let tokens = ["*", "*/", "/", "-", ",", " ", "0", "7", "31", "59", "60", "24", "32", "13", "JAN", "dec", "MON",
            "sun", "@", "@weekly", "@reboot", "L", "?", "#", "W", "-1", "0/0", "*/0"]
        let after = Date(timeIntervalSince1970: 1_795_000_000)
        Self.fuzz("cron", corpus: corpus, tokens: tokens, salt: 1) { input in
            do {
                let cron = try CronExpression(parsing: input)
                // A parsed expression must compute its next fire time quickly (or say there is none).
                _ = cron.nextDate(after: after)
                return nil
            } catch let error as SmrtJobsError {
                guard case .invalidCron(_, let field, let reason) = error, !reason.isEmpty else { return "error \(error)" }
                let text = error.description
                guard text.hasPrefix("invalid cron expression '") else { return "error text \(text)" }
                if let field, !text.contains(field) { return "error text without its field: \(text)" }
                return nil
            } catch {
                return "unexpected error type \(error)"
            }
        }
    }

    @Test func delays() {
        let corpus = ["500", "500ms", "30s", "5m", "2h", "1d", "0", " 7s "]
        let tokens = ["ms", "s", "m", "h", "d", "0", "9", "1e3", "-", ".", "9223372036854775807", "106751991167d"]
        Self.fuzz("delay", corpus: corpus, tokens: tokens, salt: 2) { input in
            do {
                let ms = try DelayParser.milliseconds(input)
                return ms >= 0 ? nil : "negative delay \(ms)"
            } catch let error as SmrtJobsError {
                let text = error.description
                // Malformed: what was expected; well-formed but too large: the maximum.
                let explained = text.contains("expected") || text.contains("too large: the maximum is")
                return text.hasPrefix("invalid delay '") && explained ? nil : "error text \(text)"
            } catch {
                return "unexpected error type \(error)"
            }
        }
    }

    @Test func priorities() {
        let corpus = ["critical", "high", "normal", "low", "50", "-3", " 100 "]
        let tokens = ["critical", "HIGH", "Normal", "low", "urgent", "0", "-", "+", "99999999999999999999", "0x10"]
        Self.fuzz("priority", corpus: corpus, tokens: tokens, salt: 3) { input in
            do {
                _ = try Priority.parse(input)
                return nil
            } catch let error as SmrtJobsError {
                let text = error.description
                return text.hasPrefix("invalid priority '") && text.contains("expected") ? nil : "error text \(text)"
            } catch {
                return "unexpected error type \(error)"
            }
        }
    }

    static let jsonTokens = [
        "{", "}", "[", "]", "\"", ":", ",", "null", "true", "false", "-0", "1e999", "-1.5e-3", "\\u0000", "\\ud800",
        "\\uDFFF", "\\", "\\n", "0x1", "NaN", "Infinity", String(repeating: "[", count: 600), "//", "/*",
    ]

    @Test func argsJSON() {
        let corpus = [
            #"{"a":1}"#, #"{"path":"/tmp/x","line":"7","afterMs":20}"#, #"{"nested":{"list":[1,2.5,-3e2,true,null,"é"]}}"#,
            "{}", #"{"s":"\u00e9\n\"q\""}"#, "[1,2]", "\"text\"",
        ]
        Self.fuzz("args JSON", corpus: corpus, tokens: Self.jsonTokens, salt: 4) { input in
            do {
                let value = try JSONValue.parse(input, what: "args")
                // Whatever parses re-encodes to JSON that parses and re-encodes to the same text. (Not to the same
                // value: a double with an integral value, `-3e2`, is written `-300` and reads back as an integer.)
                let again = try JSONValue.parse(value.jsonText)
                guard again.jsonText == value.jsonText else { return "round trip changed \(value.jsonText) to \(again.jsonText)" }
                _ = try JSONValue.parseObject(input, what: "args")
                return nil
            } catch let error as SmrtJobsError {
                let text = error.description
                guard text.hasPrefix("invalid JSON in args: "),
                    text.contains("at byte") || text.contains("expected a JSON object")
                else { return "error text \(text)" }
                return nil
            } catch {
                return "unexpected error type \(error)"
            }
        }
    }

    /// Batch lines, read as `smrt-jobs enqueue --batch` reads them: JSON object, then `JobSpec(jsonObject:)`.
    @Test func batchLines() {
        let corpus = [
            #"{"objectType":"Demo","method":"append","args":{"path":"/tmp/l","line":"1"},"retries":25,"timeout":"60s"}"#,
            #"{"objectType":"Report","method":"build","objectId":42,"priority":"high","delay":"5m","queue":"q"}"#,
            #"{"objectType":"Doc","method":"render","runAt":"2026-11-29T10:05:00Z","timeoutBehavior":"kill","timeout":1000}"#,
            #"{"objectType":"A","method":"b"}"#,
        ]
        let tokens = Self.jsonTokens + JobSpec.jsonKeys.map { "\"\($0)\":" } + [
            "\"urgent\"", "-3", "26", "\"5x\"", "\"2026-02-30T00:00:00Z\"", "\"explode\"", "\"\"", "1.5", "{}",
        ]
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        Self.fuzz("batch line", corpus: corpus, tokens: tokens, salt: 5) { input in
            let object: [String: JSONValue]
            do {
                object = try JSONValue.parseObject(input, what: "the job object")
            } catch let error as SmrtJobsError {
                return error.description.hasPrefix("invalid JSON in the job object: ") ? nil : "error text \(error)"
            } catch {
                return "unexpected error type \(error)"
            }
            do {
                let spec = try JobSpec(jsonObject: object, lineNumber: 7, now: now)
                try spec.validate()
                return nil
            } catch let error as JobSpecDecodingError {
                let text = error.description
                guard text.hasPrefix("line 7: "), !error.message.isEmpty else { return "error text \(text)" }
                // ("''" for the empty key: String.contains("") is false.)
                if let key = error.key, !error.message.contains(key.isEmpty ? "''" : key) { return "error text without its key '\(key)': \(text)" }
                return nil
            } catch {
                return "unexpected error \(error)"
            }
        }
    }

    /// Protocol frames (the decoder's own fuzz tests are in ProtocolFuzzTests): every error names what is wrong.
    @Test func protocolFrames() {
        var generator = SeededGenerator(seed: Self.seed ^ 6)
        let frames = sampleMessages.filter { $0.bodyByteCount < 1000 }.map { $0.encodeFrame() }
        var problems: [String] = []
        for _ in 0..<Self.iterations {
            var input = frames.randomElement(using: &generator)!
            for _ in 0..<Int.random(in: 1...4, using: &generator) where !input.isEmpty {
                let index = Int.random(in: 0..<input.count, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: input[index] = UInt8.random(in: 0...255, using: &generator)
                case 1: input.insert(UInt8.random(in: 0...255, using: &generator), at: index)
                case 2: input.remove(at: index)
                default: input[index] ^= 0x80
                }
            }
            var decoder = FrameDecoder(maxFrameBytes: 4096)
            decoder.append(input)
            do {
                while try decoder.next() != nil {}
            } catch {
                let text = error.description
                let names = ["frame", "message type", "field", "protocol version"].contains { text.contains($0) }
                if (text.isEmpty || !names) && problems.count < 10 { problems.append("\(text) for \(hexString(input))") }
            }
        }
        #expect(problems.isEmpty, "protocol frames, seed \(Self.seed): \(problems.joined(separator: "\n"))")
    }
}
