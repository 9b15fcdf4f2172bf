/// The error `Demo.fail` throws: its description is the message given.
struct DemoFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
