/// Holds `model_name` and `model_version` of a V2 request body against the model the path names.
/// Clients send them as a courtesy (kserve's `InferRequest` always sends `model_name`); when they
/// disagree with the path the client is confused about which model it calls, so the request is
/// refused with a 400 that names both rather than run on a model the client did not mean.
/// An empty `model_version` means "unspecified", as in Triton.
enum V2BodyModelCheck {
    static func check(_ header: V2InferHeader, pathModel: String, pathVersion: String?,
                      servedVersion: String) throws(RequestError) {
        if let name = header.modelName, name != pathModel {
            throw .badRequest("model_name \"\(name)\" in the body does not match model \"\(pathModel)\" in the path")
        }
        guard let version = header.modelVersion, !version.isEmpty else { return }
        if let pathVersion {
            guard version == pathVersion else {
                throw .badRequest("model_version \"\(version)\" in the body does not match version \"\(pathVersion)\" in the path")
            }
        } else if version != servedVersion {
            throw .badRequest("model_version \"\(version)\" in the body does not match version \"\(servedVersion)\" that model \"\(pathModel)\" serves")
        }
    }
}
