import CMicroHTTPD

// The C callbacks MHD calls on its polling thread. They are top-level functions (not closures in
// main.swift, which Swift 6 would infer as @MainActor and trap on a foreign thread) and only
// forward to `HTTPServerCore`, whose address MHD passes back as `cls`.

/// MHD_AccessHandlerCallback: called several times per request (headers, body chunks, final call).
func mhdAccessHandler(_ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
                      _ url: UnsafePointer<CChar>?, _ method: UnsafePointer<CChar>?,
                      _ version: UnsafePointer<CChar>?, _ uploadData: UnsafePointer<CChar>?,
                      _ uploadDataSize: UnsafeMutablePointer<Int>?,
                      _ conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> MHD_Result {
    guard let cls, let connection, let uploadDataSize, let conCls else { return .NO }
    let core = Unmanaged<HTTPServerCore>.fromOpaque(cls).takeUnretainedValue()
    return core.access(connection: connection, url: url, method: method, uploadData: uploadData,
                       uploadDataSize: uploadDataSize, conCls: conCls)
}

/// MHD_RequestCompletedCallback: the request is over (answered, aborted, timed out or shut down).
func mhdRequestCompleted(_ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
                         _ conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                         _ reason: MHD_RequestTerminationCode) {
    guard let cls, let conCls, let raw = conCls.pointee else { return }
    conCls.pointee = nil
    let core = Unmanaged<HTTPServerCore>.fromOpaque(cls).takeUnretainedValue()
    let state = Unmanaged<ConnectionState>.fromOpaque(raw).takeRetainedValue()
    core.completed(state, connection: connection, cleanly: reason == .REQUEST_TERMINATED_COMPLETED_OK)
}

/// MHD_KeyValueIterator collecting into a `KeyValueCollector`.
func mhdCollectKeyValue(_ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind,
                        _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> MHD_Result {
    guard let cls, let key else { return .YES }
    let collector = Unmanaged<KeyValueCollector>.fromOpaque(cls).takeUnretainedValue()
    collector.pairs.append((String(cString: key), value.map { String(cString: $0) } ?? ""))
    return .YES
}

/// dyserve_log_sink: one formatted MHD diagnostic line, sent to the server's logger.
func mhdLogSink(_ context: UnsafeMutableRawPointer?, _ message: UnsafePointer<CChar>?) {
    guard let context, let message else { return }
    let sink = Unmanaged<MHDLogSink>.fromOpaque(context).takeUnretainedValue()
    sink.log(String(cString: message))
}

/// Receives MHD's key/value pairs for one `MHD_get_connection_values` call.
final class KeyValueCollector {
    var pairs: [(String, String)] = []
}
