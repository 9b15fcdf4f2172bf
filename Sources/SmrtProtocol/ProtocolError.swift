/// Why a byte stream is not a valid sequence of frames. The peer that sent it is broken: the receiving side
/// logs `protocol error: <description>` and drops the connection.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A frame announced a body larger than the limit (detected from the length prefix alone).
    case frameTooLarge(bytes: Int, limit: Int)
    /// A frame announced a zero-length body (a body holds at least the type byte).
    case emptyFrame
    case unknownMessageType(UInt8)
    /// The frame body ended inside a field.
    case truncatedField(message: MessageType, field: String)
    case invalidUTF8(message: MessageType, field: String)
    /// A flag byte (`optstr` presence, `retryable`) other than 0 or 1.
    case invalidFlag(message: MessageType, field: String, value: UInt8)
    /// The frame body continued after the message's last field.
    case trailingBytes(message: MessageType, count: Int)
    /// A HELLO announced a protocol version this side does not speak.
    case unsupportedVersion(UInt16, supported: ClosedRange<UInt16>)

    public var description: String {
        switch self {
        case .frameTooLarge(let bytes, let limit):
            return "frame of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .emptyFrame:
            return "zero-length frame (a frame body holds at least the message type byte)"
        case .unknownMessageType(let byte):
            return "unknown message type 0x\(Self.hex(byte))"
        case .truncatedField(let message, let field):
            return "truncated field '\(field)' in \(message) frame"
        case .invalidUTF8(let message, let field):
            return "invalid UTF-8 in field '\(field)' of \(message) frame"
        case .invalidFlag(let message, let field, let value):
            return "invalid value 0x\(Self.hex(value)) for field '\(field)' of \(message) frame (expected 0 or 1)"
        case .trailingBytes(let message, let count):
            return "\(count) trailing byte\(count == 1 ? "" : "s") after the last field of \(message) frame"
        case .unsupportedVersion(let version, let supported):
            return "unsupported protocol version \(version) (this side speaks versions \(supported.lowerBound) to \(supported.upperBound))"
        }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return byte < 0x10 ? "0" + digits : digits
    }
}
