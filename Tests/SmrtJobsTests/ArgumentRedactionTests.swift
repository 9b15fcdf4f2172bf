import SmrtJobs
import Testing

/// `ArgumentRedaction.redact(text:)`: secret values written into free text (error messages, output lines).
@Suite struct ArgumentRedactionTests {
    @Test(arguments: [
        ("login failed: password=hunter2", "login failed: password=[REDACTED]"),
        ("token: abc123, user=ann", "token: [REDACTED], user=ann"),
        (#"{"api_key":"k-1","user":"ann"}"#, #"{"api_key":"[REDACTED]","user":"ann"}"#),
        (#"{"nested":{"db_password": "p w"}}"#, #"{"nested":{"db_password": "[REDACTED]"}}"#),
        ("Authorization: Bearer eyJhbGci.x.y", "Authorization: [REDACTED]"),
        ("header authorization=Basic dXNlcjpwdw== sent", "header authorization=[REDACTED] sent"),
        ("SECRET_KEY='s3cr3t'; next", "SECRET_KEY='[REDACTED]'; next"),
        ("url?access-token=xyz&page=2", "url?access-token=[REDACTED]&page=2"),
        ("client_credentials = abc", "client_credentials = [REDACTED]"),
    ])
    func secretValuesInTextAreReplaced(input: String, expected: String) {
        #expect(ArgumentRedaction.redact(text: input) == expected)
    }

    @Test(arguments: [
        "nothing to see here",
        "the password is wrong",
        "Invalid arguments for Demo.login: argument 'password' is not a String",
        "keyboard: yes, monkey=1",
        "password=",
        "password: {\"a\":1}",
        "",
    ])
    func textWithoutSecretValuesIsUnchanged(input: String) {
        #expect(ArgumentRedaction.redact(text: input) == input)
    }

    @Test(arguments: [
        ("postgres://svc:topsecret@db/app", "postgres://svc:[REDACTED]@db/app"),
        ("connect failed: postgresql://svc:hunter2@db.internal:5432/app?sslmode=require (refused)",
         "connect failed: postgresql://svc:[REDACTED]@db.internal:5432/app?sslmode=require (refused)"),
        ("redis://:pw123@cache:6379/0", "redis://:[REDACTED]@cache:6379/0"),
        ("mysql+pymysql://u:p@ss@db/x", "mysql+pymysql://u:[REDACTED]@db/x"),
        ("amqp://guest:pa/ss@mq/vhost", "amqp://guest:[REDACTED]@mq/vhost"),
        (#"{"url":"https://bot:abc123@api.example.com/v1","email":"ann@example.com"}"#,
         #"{"url":"https://bot:[REDACTED]@api.example.com/v1","email":"ann@example.com"}"#),
        ("two: a://x:1@h1 b://y:2@h2", "two: a://x:[REDACTED]@h1 b://y:[REDACTED]@h2"),
    ])
    func passwordsInURLsAreReplacedInAnyScheme(input: String, expected: String) {
        #expect(ArgumentRedaction.redact(text: input) == expected)
        #expect(ArgumentRedaction.redactURLPasswords(input) == expected)
    }

    @Test(arguments: [
        "https://example.com/path?q=1",
        "amqp://guest@mq/vhost",
        "http://host:8080/users/@me",
        "https://example.com/?email=a:b@c.com",
        "see http://host:443/x?e=ann@example.com",
        "not a url: user:pass@host",
    ])
    func urlsWithoutPasswordsAreUnchanged(input: String) {
        #expect(ArgumentRedaction.redactURLPasswords(input) == input)
    }

    @Test func urlPasswordsInArgsAreRedacted() {
        let args: JSONValue = ["database": "postgres://svc:topsecret@db/app", "n": 1]
        #expect(ArgumentRedaction.redact(args) == ["database": "postgres://svc:[REDACTED]@db/app", "n": 1])
    }

    @Test func stringValuesInArgsAreRedactedToo() {
        let args: JSONValue = ["message": "retry with password=hunter2", "count": 3]
        #expect(ArgumentRedaction.redact(args) == ["message": "retry with password=[REDACTED]", "count": 3])
    }
}
