import CMicroHTTPD
import Foundation

/// An `HTTPResponse` already turned into an MHD response object, built on the thread that
/// answers (never MHD's polling thread, except for the server's own small error answers).
/// Queueing it is then only a reference-count increment, whatever the body's size; MHD writes the
/// body from our buffer as the socket accepts it, without another copy.
///
/// Bodies of `largeBodyBytes` or more are counted against the server's response budget from the
/// moment they are built until MHD frees them (written, or the connection gone).
final class PreparedResponse: @unchecked Sendable {
    let status: UInt32
    /// Owned: destroyed in `deinit` (MHD keeps its own reference while it sends).
    let mhdResponse: OpaquePointer

    /// Smaller bodies are not counted against the budget: the bookkeeping would cost more than
    /// the bytes.
    static let largeBodyBytes = 64 << 10

    private init(status: UInt32, mhdResponse: OpaquePointer) {
        self.status = status
        self.mhdResponse = mhdResponse
    }

    deinit {
        MHD_destroy_response(mhdResponse)
    }

    /// Why a response could not be prepared.
    enum Failure: Error {
        /// The body does not fit the server's response budget now.
        case overBudget
        /// MHD could not allocate the response object.
        case mhdFailed
    }

    /// Builds the MHD response. A large body is copied into a buffer MHD frees through
    /// `OwnedBody` (which returns its bytes to `budget`); a small one is copied by MHD itself.
    static func make(_ response: HTTPResponse, budget: ByteBudget) -> Result<PreparedResponse, Failure> {
        let count = response.body.count
        let created: OpaquePointer?
        if count >= largeBodyBytes {
            guard budget.tryReserve(count) else { return .failure(.overBudget) }
            let owned = OwnedBody(copying: response.body, budget: budget)
            created = MHD_create_response_from_buffer_with_free_callback_cls(
                count, owned.pointer, mhdFreeOwnedBody, Unmanaged.passRetained(owned).toOpaque())
            if created == nil { Unmanaged.passUnretained(owned).release() }
        } else {
            created = response.body.withUnsafeBytes { bytes in
                MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress),
                                                .RESPMEM_MUST_COPY)
            }
        }
        guard let created else { return .failure(.mhdFailed) }
        for (name, value) in response.headers {
            // MHD writes the framing headers itself and refuses duplicates of them.
            let lower = name.lowercased()
            if lower == "content-length" || lower == "transfer-encoding" { continue }
            // A header MHD rejects (control characters) is dropped rather than failing the answer.
            _ = MHD_add_response_header(created, name, value)
        }
        let status = (100...999).contains(response.status) ? response.status : 500
        return .success(PreparedResponse(status: UInt32(status), mhdResponse: created))
    }
}

/// A response body in memory MHD reads from while it sends; freed (and its bytes returned to the
/// budget) when MHD destroys the response.
final class OwnedBody {
    let pointer: UnsafeMutableRawPointer
    let count: Int
    private let budget: ByteBudget

    init(copying bytes: [UInt8], budget: ByteBudget) {
        let count = bytes.count
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: count) }
        self.count = count
        self.pointer = pointer
        self.budget = budget
    }

    deinit {
        pointer.deallocate()
        budget.release(count)
    }
}

/// MHD_ContentReaderFreeCallback for `OwnedBody`: balances the retain taken when the response was built.
func mhdFreeOwnedBody(_ cls: UnsafeMutableRawPointer?) {
    guard let cls else { return }
    Unmanaged<OwnedBody>.fromOpaque(cls).release()
}
