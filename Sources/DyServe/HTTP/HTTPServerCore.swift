import CMicroHTTPD
import Foundation
import Logging

/// The request life cycle behind `HTTPServer`, driven by MHD's callbacks on its polling thread
/// and by `respond` calls from any thread.
///
/// Hand-off: on the final access-handler call the connection is suspended and the application
/// gets the request; `respond` stores the response and resumes the connection; MHD then calls the
/// handler once more and the stored response is queued. Suspending and resuming happen under
/// `lock`, together with the `stopping` check, so `stop` can resume every suspended connection
/// and know that no new one will be suspended afterwards.
final class HTTPServerCore: @unchecked Sendable {
    let configuration: HTTPServerConfiguration
    let handler: any HTTPHandler
    let logger: Logger

    /// Bytes past the body limit that are read and dropped so that a 413 can still be sent once a
    /// chunked body ends; a client that keeps sending after that loses the connection instead.
    static let discardAllowanceBytes = 1 << 20

    /// Most memory reserved for a body before its bytes arrive.
    static let initialBodyReservationBytes = 1 << 20

    /// Request-body bytes held by all connections (`maxInflightBodyBytes`).
    let bodyBudget: ByteBudget
    /// Large response bodies being written by all connections (`maxInflightResponseBytes`).
    let responseBudget: ByteBudget
    /// Header and body deadlines per connection.
    let deadlines: ConnectionDeadlines

    let lock = NSLock()
    // Guarded by `lock`.
    private var live: [ObjectIdentifier: ConnectionState] = [:]
    private var stopping = false
    private var nextToken: UInt64 = 0
    /// Suspended requests whose sockets the hang-up watcher is watching, by token.
    private var watched: [UInt64: ConnectionState] = [:]
    private var hangupWatcher: HangupWatcher?

    /// Requests between their first access-handler call and MHD's completion notice.
    var liveRequestCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return live.count
    }

    init(configuration: HTTPServerConfiguration, handler: any HTTPHandler, logger: Logger) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        self.bodyBudget = ByteBudget(limit: configuration.maxInflightBodyBytes)
        self.responseBudget = ByteBudget(limit: configuration.maxInflightResponseBytes)
        self.deadlines = ConnectionDeadlines(headerTimeoutSeconds: configuration.headerTimeoutSeconds,
                                             bodyTimeoutSeconds: configuration.bodyTimeoutSeconds)
    }

    // MARK: Access handler

    func access(connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
                uploadData: UnsafePointer<CChar>?, uploadDataSize: UnsafeMutablePointer<Int>,
                conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> MHD_Result {
        guard let raw = conCls.pointee else {
            return firstCall(connection: connection, url: url, method: method, conCls: conCls)
        }
        let state = Unmanaged<ConnectionState>.fromOpaque(raw).takeUnretainedValue()
        let size = uploadDataSize.pointee
        if size > 0 {
            uploadDataSize.pointee = 0
            return receiveBody(state, bytes: uploadData, count: size)
        }
        return finalCall(state, connection: connection)
    }

    /// Headers are complete: build the request state and refuse an announced oversized body.
    private func firstCall(connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
                           conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> MHD_Result {
        let headerPairs = Self.values(of: connection, kind: .HEADER_KIND)
        var headers: [String: String] = [:]
        for (name, value) in headerPairs {
            let key = name.lowercased()
            if let existing = headers[key] { headers[key] = existing + ", " + value } else { headers[key] = value }
        }
        var query: [String: String] = [:]
        for (name, value) in Self.values(of: connection, kind: .GET_ARGUMENT_KIND) { query[name] = value }

        lock.lock()
        nextToken += 1
        let token = nextToken
        lock.unlock()
        let state = ConnectionState(
            token: token, connection: connection,
            method: method.map { String(cString: $0) } ?? "",
            path: url.map { String(cString: $0) } ?? "/",
            query: query, headers: headers,
            context: RequestContext(remoteAddress: Self.remoteAddress(of: connection)))
        conCls.pointee = Unmanaged.passRetained(state).toOpaque()
        lock.lock()
        live[ObjectIdentifier(state)] = state
        lock.unlock()
        deadlines.awaitBody(connection)

        if let violation = RequestFraming.violation(in: headerPairs.map { (name: $0.0, value: $0.1) }) {
            logger.debug("request framing rejected", metadata: ["reason": "\(violation)"])
            var response = HTTPResponse.jsonError(status: 400, message: violation)
            response.headers.append(("Connection", "close"))
            state.rejection = response
            return queue(response, on: connection)
        }
        if let announced = headers["content-length"] {
            // Checked above to be digits only; a value too big for Int is too big.
            let length = Int(Substring(announced).strippingBlanks()) ?? Int.max
            if length > configuration.maxBodyBytes {
                state.bodyTooLarge = true
                return queue(tooLargeResponse(), on: connection)
            }
            // Refused now rather than after the bytes arrived: they would not fit.
            if length > bodyBudget.limit - bodyBudget.inUse {
                state.bodyOverBudget = true
                return queue(overBudgetResponse(), on: connection)
            }
            // Reserve for the announced size, but not more than a little up front: a client can
            // announce a large body and then send nothing.
            state.body.reserveCapacity(min(length, Self.initialBodyReservationBytes))
        }
        return .YES
    }

    /// A piece of the body. Never keeps more than `maxBodyBytes`.
    private func receiveBody(_ state: ConnectionState, bytes: UnsafePointer<CChar>?, count: Int) -> MHD_Result {
        state.bodyBytesSeen += count
        // A rejected request's body (if MHD reads one) is dropped, for a while, then the connection.
        if state.rejection != nil { return state.bodyBytesSeen > Self.discardAllowanceBytes ? .NO : .YES }
        if state.bodyTooLarge || state.bodyBytesSeen > configuration.maxBodyBytes {
            if !state.bodyTooLarge {
                state.bodyTooLarge = true
                state.body = []
                logger.debug("request body crossed the limit", metadata: ["path": "\(state.path)"])
            }
            // MHD accepts a response only on the first or the final call; keep draining for a
            // while so the 413 can be sent, then give up on the connection.
            return state.bodyBytesSeen - configuration.maxBodyBytes > Self.discardAllowanceBytes ? .NO : .YES
        }
        if state.bodyOverBudget || !bodyBudget.tryReserve(count) {
            if !state.bodyOverBudget {
                state.bodyOverBudget = true
                state.body = []
                logger.debug("request bodies in flight crossed the budget", metadata: ["path": "\(state.path)"])
            }
            return state.bodyBytesSeen - state.bodyBytesReserved > Self.discardAllowanceBytes ? .NO : .YES
        }
        state.bodyBytesReserved += count
        if let bytes {
            UnsafeRawPointer(bytes).withMemoryRebound(to: UInt8.self, capacity: count) { pointer in
                state.body.append(contentsOf: UnsafeBufferPointer(start: pointer, count: count))
            }
        }
        return .YES
    }

    /// The request is complete: hand it to the application, or queue the answer it gave.
    private func finalCall(_ state: ConnectionState, connection: OpaquePointer) -> MHD_Result {
        if let rejection = state.rejection { return queue(rejection, on: connection) }
        if state.bodyTooLarge { return queue(tooLargeResponse(), on: connection) }
        if state.bodyOverBudget { return queue(overBudgetResponse(), on: connection) }
        lock.lock()
        if let response = state.response {
            state.response = nil
            lock.unlock()
            deadlines.exempt(connection)
            return MHD_queue_response(connection, response.status, response.mhdResponse)
        }
        if state.handedToApplication {
            // Resumed with an answer that could not be built: close the connection. Otherwise
            // called again without an answer (MHD does not do this for a suspended connection,
            // but waiting is always safe).
            let failed = state.responded && !state.suspended
            lock.unlock()
            return failed ? .NO : .YES
        }
        if stopping {
            state.responded = true
            lock.unlock()
            return queue(Self.shuttingDownResponse(), on: connection)
        }
        state.handedToApplication = true
        state.suspended = true
        deadlines.exempt(connection)
        MHD_suspend_connection(connection)
        watchForHangup(state, connection: connection)
        lock.unlock()

        let request = state.makeRequest()
        state.body = []  // the request owns the bytes now
        handler.handle(request) { [self] response in
            deliver(response, to: state)
        }
        return .YES
    }

    /// `respond`: from any thread, exactly once per request; extra calls are ignored. The MHD
    /// response is built here, on the answering thread, so that the polling thread only queues it.
    private func deliver(_ response: HTTPResponse, to state: ConnectionState) {
        lock.lock()
        guard !state.responded, state.connection != nil else {
            state.responded = true
            lock.unlock()
            return  // answered already, or the client is gone
        }
        state.responded = true
        lock.unlock()

        let prepared = prepare(response)
        lock.lock()
        defer { lock.unlock() }
        guard let connection = state.connection else { return }  // gone meanwhile; `prepared` is freed
        state.response = prepared
        if state.suspended {
            state.suspended = false
            stopWatching(state)
            MHD_resume_connection(connection)
        }
    }

    // MARK: Hang-ups while suspended

    /// Starts the hang-up watcher; called before the daemon starts.
    func installHangupWatcher() {
        let watcher = HangupWatcher.make { [weak self] token in self?.clientHungUp(token: token) }
        if watcher == nil { logger.warning("cannot watch suspended connections for hang-ups; cancellation is noticed late") }
        lock.lock()
        hangupWatcher = watcher
        lock.unlock()
    }

    /// Stops the hang-up watcher; called after the daemon stopped.
    func removeHangupWatcher() {
        lock.lock()
        let watcher = hangupWatcher
        hangupWatcher = nil
        watched.removeAll()
        lock.unlock()
        watcher?.shutdown()
    }

    /// Caller holds `lock`; the connection has just been suspended.
    private func watchForHangup(_ state: ConnectionState, connection: OpaquePointer) {
        guard let watcher = hangupWatcher else { return }
        let fd = dyserve_mhd_connection_fd(connection)
        guard fd >= 0, watcher.watch(fd: fd, token: state.token) else { return }
        state.watchedFD = fd
        watched[state.token] = state
    }

    /// Caller holds `lock`; must run before the connection is resumed (after which MHD may close
    /// the socket and the descriptor number may be reused).
    private func stopWatching(_ state: ConnectionState) {
        guard state.watchedFD >= 0 else { return }
        hangupWatcher?.unwatch(fd: state.watchedFD)
        state.watchedFD = -1
        watched[state.token] = nil
    }

    /// The watcher saw the peer of a suspended connection close: tell the application. The
    /// connection stays suspended until the application answers (the answer is then dropped by
    /// MHD's failed write), which keeps `respond` the one place that resumes.
    private func clientHungUp(token: UInt64) {
        lock.lock()
        guard let state = watched[token], state.suspended else {
            lock.unlock()
            return
        }
        stopWatching(state)
        lock.unlock()
        logger.debug("client closed the connection while its request was being handled",
                     metadata: ["path": "\(state.path)"])
        state.context.cancel()
    }

    // MARK: Completion and shutdown

    func completed(_ state: ConnectionState, connection: OpaquePointer?, cleanly: Bool) {
        // The connection may carry another request; its header deadline starts now.
        if let connection { deadlines.awaitHeader(connection) }
        bodyBudget.release(state.bodyBytesReserved)
        state.bodyBytesReserved = 0
        lock.lock()
        state.connection = nil
        state.response = nil  // an answer that was never queued
        live[ObjectIdentifier(state)] = nil
        stopWatching(state)
        let answered = state.responded
        lock.unlock()
        if !cleanly || !answered { state.context.cancel() }
    }

    /// Stops handing out requests and resumes every suspended connection with a 503, so that
    /// `MHD_stop_daemon` finds none suspended. Returns after the resumes were requested.
    func beginStopping() {
        lock.lock()
        stopping = true
        var cancelled: [ConnectionState] = []
        // A request whose answer is being built (`responded`) is resumed by `deliver` with it.
        for state in live.values where state.suspended && !state.responded {
            state.suspended = false
            stopWatching(state)
            state.responded = true
            state.response = try? PreparedResponse.make(Self.shuttingDownResponse(), budget: responseBudget).get()
            if let connection = state.connection { MHD_resume_connection(connection) }
            cancelled.append(state)
        }
        lock.unlock()
        for state in cancelled { state.context.cancel() }
    }

    /// Waits until every request that has an answer has been written and completed, or until
    /// `timeout` passes: a response resumed just before `MHD_stop_daemon` would otherwise be lost
    /// with its connection. Requests still uploading or unanswered are not waited for.
    func waitForAnsweredRequests(timeout: Duration) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            lock.lock()
            let pending = live.values.contains { $0.responded }
            lock.unlock()
            if !pending { return }
            Thread.sleep(forTimeInterval: 0.002)
        }
        logger.warning("stopping with answered requests not yet written", metadata: ["waited": "\(timeout)"])
    }

    // MARK: Helpers

    private func tooLargeResponse() -> HTTPResponse {
        var response = HTTPResponse.jsonError(
            status: 413, message: "request body exceeds the limit of \(configuration.maxBodyBytes) bytes")
        // The unread rest of the body makes the connection unusable for another request.
        response.headers.append(("Connection", "close"))
        return response
    }

    /// Queues one of the server's own (small) answers on `connection`.
    private func queue(_ response: HTTPResponse, on connection: OpaquePointer) -> MHD_Result {
        deadlines.exempt(connection)
        guard let prepared = prepare(response) else { return .NO }
        return MHD_queue_response(connection, prepared.status, prepared.mhdResponse)
    }

    /// The MHD response for `response`; a 503 when its body does not fit the response budget;
    /// nil only when MHD cannot allocate (the connection is then closed).
    private func prepare(_ response: HTTPResponse) -> PreparedResponse? {
        if !(100...999).contains(response.status) {
            logger.error("handler returned an invalid HTTP status, sending 500", metadata: ["status": "\(response.status)"])
        }
        switch PreparedResponse.make(response, budget: responseBudget) {
        case .success(let prepared):
            return prepared
        case .failure(.overBudget):
            logger.debug("response bodies in flight crossed the budget", metadata: ["bytes": "\(response.body.count)"])
            var refusal = HTTPResponse.unavailable(
                "the response (\(response.body.count) bytes) does not fit the server's budget of "
                + "\(configuration.maxInflightResponseBytes) bytes for responses being sent; retry later")
            refusal.headers += response.headers.filter { $0.name.lowercased() == "x-request-id" }
            return try? PreparedResponse.make(refusal, budget: responseBudget).get()
        case .failure(.mhdFailed):
            logger.error("libmicrohttpd could not create a response", metadata: ["status": "\(response.status)"])
            return nil
        }
    }

    private func overBudgetResponse() -> HTTPResponse {
        var response = HTTPResponse.unavailable(
            "request bodies being received exceed the server's budget of \(configuration.maxInflightBodyBytes) "
            + "bytes; retry later")
        // The unread rest of the body makes the connection unusable for another request.
        response.headers.append(("Connection", "close"))
        return response
    }

    static func shuttingDownResponse() -> HTTPResponse {
        .unavailable("the server is shutting down")
    }

    private static func values(of connection: OpaquePointer, kind: MHD_ValueKind) -> [(String, String)] {
        let collector = KeyValueCollector()
        withExtendedLifetime(collector) {
            _ = MHD_get_connection_values(connection, kind, mhdCollectKeyValue,
                                          Unmanaged.passUnretained(collector).toOpaque())
        }
        return collector.pairs
    }

    private static func remoteAddress(of connection: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        let status = buffer.withUnsafeMutableBufferPointer { dyserve_mhd_client_address(connection, $0.baseAddress, $0.count) }
        guard status == 0 else { return nil }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
