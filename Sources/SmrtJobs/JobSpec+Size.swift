/// How large a job may be: the supervisor sends it to a worker as one RUN message, which must fit the worker
/// protocol's frame (docs/worker-protocol.md). A larger job could never be delivered: each attempt would end
/// its worker with a protocol error.
extension JobSpec {
    /// The largest RUN message body a worker accepts: the protocol's frame limit, 4 MiB
    /// (`WireFormat.defaultMaxFrameBytes` in SmrtProtocol, which this module does not import).
    public static let maxRunMessageBytes = 4 << 20

    /// Bytes of a RUN message around its strings: type, job id, attempt, deadline, the length prefixes of
    /// objectType, method and args, and the objectId presence flag (+4 for its length when there is one).
    static let runMessageFixedBytes = 1 + 8 + 4 + 8 + 4 + 1 + 4 + 4

    /// The most bytes of args JSON this job can carry: what is left of `maxRunMessageBytes` after its type,
    /// method and object id.
    public var maxArgsBytes: Int {
        Self.maxArgsBytes(objectType: objectType, method: method, objectId: objectId)
    }

    /// The room left for args in a RUN message of a job with these names.
    public static func maxArgsBytes(objectType: String, method: String, objectId: String?) -> Int {
        let names = objectType.utf8.count + method.utf8.count + (objectId.map { 4 + $0.utf8.count } ?? 0)
        return maxRunMessageBytes - runMessageFixedBytes - names
    }

    /// Throws `SmrtJobsError.argsTooLarge` when the args, as the JSON a worker receives, do not fit.
    func validateSize() throws {
        let limit = maxArgsBytes
        let bytes = JSONValue.object(args).jsonByteCount
        if bytes > limit { throw SmrtJobsError.argsTooLarge(bytes: bytes, limit: limit) }
    }
}
