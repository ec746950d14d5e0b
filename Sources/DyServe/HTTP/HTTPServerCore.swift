import CMicroHTTPD
import Foundation
import Logging

/// The request life cycle behind `HTTPServer`, driven by MHD's callbacks on its polling thread
/// and by `respond` calls from any thread.
///
/// Hand-off: on the final access-handler call the connection is suspended and the application
/// gets the request; `respond` stores the response and resumes the connection; MHD then calls the
/// handler once more and the stored response is queued.
///
/// `lock` guards the state changes only; the system calls (suspending, resuming, the hang-up
/// watcher's epoll changes) run outside it, so the polling thread and the threads that answer do
/// not wait for each other's system calls. What keeps that safe:
/// - `suspended` turns true only after the connection was suspended and is being watched, and in
///   the same locked step as the `stopping` check: `beginStopping` resumes exactly the connections
///   marked suspended then, and a request that was suspended while it ran sees `stopping` and
///   resumes its own connection with a 503.
/// - Whoever turns `suspended` from true to false under the lock (`deliver` or `beginStopping`)
///   owns the one resume of that connection; nothing else resumes it, so it is resumed once.
/// - A suspended connection stays open until it is resumed (MHD does not process it), so the
///   resume after the lock is released still finds it; only `MHD_stop_daemon` could close it
///   earlier, and `stop` waits for `resumesInFlight` before calling it.
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
    /// Requests between their first access-handler call and MHD's completion notice, by token.
    private var live: [UInt64: ConnectionState] = [:]
    private var stopping = false
    /// Set before the daemon starts and cleared after it stopped, so the polling thread reads it
    /// without the lock; other threads read it under the lock.
    private var hangupWatcher: HangupWatcher?

    /// Touched only on MHD's polling thread.
    private var nextToken: UInt64 = 0

    /// Resumes decided under `lock` whose `MHD_resume_connection` has not returned yet.
    private let resumesInFlight = DispatchGroup()

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

        nextToken += 1
        let token = nextToken
        let state = ConnectionState(
            token: token, connection: connection,
            method: method.map { String(cString: $0) } ?? "",
            path: url.map { String(cString: $0) } ?? "/",
            query: query, headers: headers,
            context: RequestContext(remoteAddress: Self.remoteAddress(of: connection)))
        conCls.pointee = Unmanaged.passRetained(state).toOpaque()
        lock.lock()
        live[token] = state
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
        if state.handedToApplication { return resumedCall(state, connection: connection) }
        state.handedToApplication = true

        deadlines.exempt(connection)
        MHD_suspend_connection(connection)
        let watch = watchForHangup(state, connection: connection)
        lock.lock()
        let stoppingNow = stopping
        if stoppingNow {
            state.responded = true
        } else {
            state.suspended = true
            state.watchedFD = watch?.fd ?? -1
        }
        lock.unlock()
        if stoppingNow {
            // `beginStopping` ran while the connection was being suspended and did not see it:
            // answer 503 and resume it here, as it would have.
            let refusal = prepare(Self.shuttingDownResponse())
            lock.lock()
            state.response = refusal
            lock.unlock()
            resume(connection, unwatching: watch)
            return .YES
        }

        let request = state.makeRequest()
        state.body = []  // the request owns the bytes now
        handler.handle(request) { [self] response in
            deliver(response, to: state)
        }
        return .YES
    }

    /// A call after the request was handed out: the connection was resumed with its answer.
    private func resumedCall(_ state: ConnectionState, connection: OpaquePointer) -> MHD_Result {
        lock.lock()
        if let response = state.response {
            state.response = nil
            lock.unlock()
            // Still exempt from the header and body deadlines since the request was handed out.
            return MHD_queue_response(connection, response.status, response.mhdResponse)
        }
        // Resumed with an answer that could not be built: close the connection. Otherwise called
        // again without an answer (MHD does not do this for a suspended connection, but waiting
        // is always safe).
        let failed = state.responded && !state.suspended
        lock.unlock()
        return failed ? .NO : .YES
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
        // Gone meanwhile (`prepared` is freed), or not suspended (then never handed out).
        guard let connection = state.connection, state.suspended else {
            lock.unlock()
            return
        }
        state.response = prepared
        state.suspended = false
        let watch = takeWatch(state)
        resumesInFlight.enter()
        lock.unlock()
        resume(connection, unwatching: watch)
        resumesInFlight.leave()
    }

    /// Ends the hang-up watch (before the resume, after which MHD may close the socket and the
    /// descriptor number may be reused), then resumes. The caller owns this connection's resume.
    private func resume(_ connection: OpaquePointer, unwatching watch: HangupWatch?) {
        if let watch { watch.watcher.unwatch(fd: watch.fd) }
        MHD_resume_connection(connection)
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
        lock.unlock()
        watcher?.shutdown()
    }

    /// A socket the hang-up watcher watches.
    struct HangupWatch {
        let watcher: HangupWatcher
        let fd: Int32
    }

    /// On the polling thread, without `lock`; the connection has just been suspended.
    private func watchForHangup(_ state: ConnectionState, connection: OpaquePointer) -> HangupWatch? {
        guard let watcher = hangupWatcher else { return nil }
        let fd = dyserve_mhd_connection_fd(connection)
        guard fd >= 0, watcher.watch(fd: fd, token: state.token) else { return nil }
        return HangupWatch(watcher: watcher, fd: fd)
    }

    /// Caller holds `lock`: the watch to end before the connection is resumed, now owned by the
    /// caller.
    private func takeWatch(_ state: ConnectionState) -> HangupWatch? {
        guard state.watchedFD >= 0, let watcher = hangupWatcher else { return nil }
        defer { state.watchedFD = -1 }
        return HangupWatch(watcher: watcher, fd: state.watchedFD)
    }

    /// The watcher saw the peer of a suspended connection close (the watch is one-shot; whoever
    /// resumes removes it): tell the application. The connection stays suspended until the
    /// application answers (the answer is then dropped by MHD's failed write), which keeps
    /// `respond` the one place that resumes.
    private func clientHungUp(token: UInt64) {
        lock.lock()
        guard let state = live[token], !state.responded else {
            lock.unlock()
            return
        }
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
        live[state.token] = nil
        // Every resume ends the watch first; only a connection MHD closes while it is still
        // suspended (when stopping gave up waiting for its answer) is still watched here.
        let watch = takeWatch(state)
        let answered = state.responded
        lock.unlock()
        if let watch { watch.watcher.unwatch(fd: watch.fd) }
        if !cleanly || !answered { state.context.cancel() }
    }

    /// Stops handing out requests and resumes every suspended connection with a 503, so that
    /// `MHD_stop_daemon` finds none suspended. Returns after the resumes were requested.
    func beginStopping() {
        lock.lock()
        stopping = true
        var cancelled: [ConnectionState] = []
        // A request whose answer is being built (`responded`) is resumed by `deliver` with it.
        // Resumed under the lock: this runs once, and `deliver` may not resume these meanwhile.
        for state in live.values where state.suspended && !state.responded {
            state.suspended = false
            state.responded = true
            state.response = try? PreparedResponse.make(Self.shuttingDownResponse(), budget: responseBudget).get()
            let watch = takeWatch(state)
            if let connection = state.connection { resume(connection, unwatching: watch) }
            cancelled.append(state)
        }
        lock.unlock()
        for state in cancelled { state.context.cancel() }
    }

    /// Waits until every resume decided under the lock has been made; before `MHD_stop_daemon`,
    /// which frees connections. Such a resume is two system calls away, so this does not time out.
    func waitForResumesInFlight() {
        resumesInFlight.wait()
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
