import Auth
import Foundation
import Testing

@Suite struct Base64URLTests {
    /// Byte for byte what Foundation's base64, made URL-safe and unpadded, gives.
    @Test func encodesAndDecodesEveryLengthAsFoundationDoes() {
        var bytes: [UInt8] = []
        var state: UInt64 = 12345
        for length in 0..<200 {
            let foundation = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            let encoded = Base64URL.encode(bytes)
            #expect(encoded == foundation, "length \(length)")
            #expect(Base64URL.decode(encoded) == Data(bytes), "length \(length)")
            #expect(Base64URL.decode(Data(bytes).base64EncodedString()) == Data(bytes), "padded standard, length \(length)")
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes.append(UInt8(truncatingIfNeeded: state >> 33))
        }
    }

    @Test func rejectsWhatIsNotBase64() {
        for bad in ["a", "ab!c", "ab c", "abcde", "====", "ab=c", "é", "YQ==="] {
            #expect(Base64URL.decode(bad) == nil, "\(bad)")
        }
        #expect(Base64URL.decode("") == Data())
    }
}
