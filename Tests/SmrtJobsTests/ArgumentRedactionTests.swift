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

    @Test func stringValuesInArgsAreRedactedToo() {
        let args: JSONValue = ["message": "retry with password=hunter2", "count": 3]
        #expect(ArgumentRedaction.redact(args) == ["message": "retry with password=[REDACTED]", "count": 3])
    }
}
