import SmrtJobs
import Testing

/// The keys added to redaction: auth, pwd, private_key, session and cookie, in every form text and JSON
/// carry them, in any case; and the words they must not catch.
@Suite struct ArgumentRedactionKeyTests {
    @Test(arguments: [
        ("auth=abc123 user=ann", "auth=[REDACTED] user=ann"),
        ("AUTH: abc123", "AUTH: [REDACTED]"),
        (#"{"auth":"abc123"}"#, #"{"auth":"[REDACTED]"}"#),
        ("pwd=hunter2", "pwd=[REDACTED]"),
        ("db_pwd: 'hunter2'", "db_pwd: '[REDACTED]'"),
        (#"{"Pwd": "hunter2"}"#, #"{"Pwd": "[REDACTED]"}"#),
        ("private_key=-----BEGIN", "private_key=[REDACTED]"),
        ("privateKey: MIIEv", "privateKey: [REDACTED]"),
        (#"{"PRIVATE-KEY":"MIIEv"}"#, #"{"PRIVATE-KEY":"[REDACTED]"}"#),
        ("session=s3ss10n&page=2", "session=[REDACTED]&page=2"),
        ("Session: s3ss10n", "Session: [REDACTED]"),
        (#"{"session_id":"s3ss10n"}"#, #"{"session_id":"[REDACTED]"}"#),
        ("sessionId=s3ss10n", "sessionId=[REDACTED]"),
        ("cookie=c00k1e", "cookie=[REDACTED]"),
        ("Cookie: sid=c00k1e; theme=dark", "Cookie: [REDACTED]"),
        ("Set-Cookie: sid=c00k1e; Path=/; HttpOnly\nnext line", "Set-Cookie: [REDACTED]\nnext line"),
        (#"{"cookie":"sid=c00k1e; theme=dark","n":1}"#, #"{"cookie":"[REDACTED]","n":1}"#),
        ("error 'Cookie: sid=c00k1e' while", "error 'Cookie: [REDACTED]' while"),
        ("HTTP_AUTH=abc123", "HTTP_AUTH=[REDACTED]"),
        ("fetch https://user:PASS@host/x failed", "fetch https://user:[REDACTED]@host/x failed"),
        ("HTTPS://User:PASS@Host", "HTTPS://User:[REDACTED]@Host"),
    ])
    func newKeysAreRedactedInText(input: String, expected: String) {
        #expect(ArgumentRedaction.redact(text: input) == expected)
    }

    @Test(arguments: [
        "author=ann", "authority: root CA", "oauth_provider=github", "sessions: 4", "cookies_enabled_count",
        "keyboard: yes", "the session expired", "pwdx",
    ])
    func lookalikesAreLeftAlone(input: String) {
        #expect(ArgumentRedaction.redact(text: input) == input)
    }

    @Test func argsUnderTheNewKeysAreRedactedAtAnyDepth() {
        let args: JSONValue = [
            "auth": "a1", "pwd": "p1", "private_key": "k1", "session": ["id": "s1"], "Cookie": "c1", "author": "ann",
            "nested": ["sessionToken": "t1", "list": [["PWD": "p2"]]], "url": "https://user:PASS@host/db",
        ]
        let redacted = ArgumentRedaction.redact(args)
        #expect(redacted == [
            "auth": "[REDACTED]", "pwd": "[REDACTED]", "private_key": "[REDACTED]", "session": "[REDACTED]",
            "Cookie": "[REDACTED]", "author": "ann",
            "nested": ["sessionToken": "[REDACTED]", "list": [["PWD": "[REDACTED]"]]],
            "url": "https://user:[REDACTED]@host/db",
        ])
    }

    @Test(arguments: [
        ("auth", true), ("Auth", true), ("x-auth", true), ("authToken", true), ("author", false), ("authority", false),
        ("pwd", true), ("newPwd", true), ("private_key", true), ("privateKey", true), ("session", true),
        ("SESSION_ID", true), ("sessionId", true), ("cookie", true), ("Set-Cookie", true), ("cookies", true),
        ("sessions", false), ("name", false),
    ])
    func keysAreJudgedByWord(key: String, secret: Bool) {
        #expect(ArgumentRedaction.isSecret(key) == secret)
    }
}
