#ifndef DYSERVE_CMICROHTTPD_SHIM_H
#define DYSERVE_CMICROHTTPD_SHIM_H
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <microhttpd.h>

/* Swift cannot call variadic C functions or receive a va_list comfortably, so the daemon start
 * and MHD's logger are wrapped here. Everything is static inline: the module has no C sources. */

/* Where MHD's diagnostics go: a Swift function that receives one formatted line. */
typedef void (*dyserve_log_sink)(void *context, const char *message);

struct dyserve_log_target {
    dyserve_log_sink sink;
    void *context;
};

/* MHD_OPTION_EXTERNAL_LOGGER callback: format MHD's printf-style message, hand it to Swift. */
static inline void dyserve_mhd_log_trampoline(void *cls, const char *format, va_list arguments) {
    struct dyserve_log_target *target = (struct dyserve_log_target *)cls;
    char line[1024];
    if (target == NULL || target->sink == NULL) {
        return;
    }
    vsnprintf(line, sizeof line, format, arguments);
    target->sink(target->context, line);
}

/* Starts a daemon listening on `address`. Options that are 0 are left at MHD's defaults. The
 * log target must stay valid until MHD_stop_daemon has returned. */
static inline struct MHD_Daemon *dyserve_mhd_start(unsigned int flags,
                                                   const struct sockaddr *address,
                                                   MHD_AccessHandlerCallback handler, void *handler_context,
                                                   MHD_RequestCompletedCallback completed, void *completed_context,
                                                   unsigned int connection_limit,
                                                   unsigned int connection_timeout_s,
                                                   size_t connection_memory_limit,
                                                   unsigned int per_ip_connection_limit,
                                                   MHD_NotifyConnectionCallback notify_connection,
                                                   void *notify_connection_context,
                                                   const char *tls_key_pem,
                                                   const char *tls_cert_pem,
                                                   struct dyserve_log_target *log_target) {
    struct MHD_OptionItem options[12];
    int count = 0;
    options[count++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, (void *)address };
    options[count++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, completed_context };
    if (connection_limit != 0) {
        options[count++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)connection_limit, NULL };
    }
    /* Always set: 0 means "no timeout", which is also MHD's default. */
    options[count++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)connection_timeout_s, NULL };
    if (connection_memory_limit != 0) {
        options[count++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)connection_memory_limit, NULL };
    }
    if (per_ip_connection_limit != 0) {
        options[count++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)per_ip_connection_limit, NULL };
    }
    if (notify_connection != NULL) {
        options[count++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify_connection, notify_connection_context };
    }
    /* PEM text; MHD copies neither, so both must stay valid until MHD_stop_daemon has returned.
     * Only meaningful with MHD_USE_TLS in `flags`. */
    if (tls_key_pem != NULL && tls_cert_pem != NULL) {
        options[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)tls_key_pem };
        options[count++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)tls_cert_pem };
    }
    options[count++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
    /* The logger must be the very first option (not inside the array), or MHD reports problems
     * with earlier options on stderr. A NULL logger keeps MHD quiet. */
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_context,
                            MHD_OPTION_EXTERNAL_LOGGER, dyserve_mhd_log_trampoline, (void *)log_target,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/* Shuts down both directions of `fd` without closing it: MHD then sees the peer gone and closes
 * the connection itself on its own thread. */
static inline int dyserve_shutdown_socket(int fd) {
    return shutdown(fd, SHUT_RDWR);
}

/* The port the daemon is bound to (useful after binding port 0), or 0 if unknown. */
static inline uint16_t dyserve_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/* The socket of `connection`, or -1. MHD owns it: never close it. */
static inline int dyserve_mhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : (int)info->connect_fd;
}

/* Writes the peer address of `connection` as "ip:port" ("[ip]:port" for IPv6) into `buffer`.
 * Returns 0 on success, -1 if MHD does not know it or the buffer is too small. */
static inline int dyserve_mhd_client_address(struct MHD_Connection *connection, char *buffer, size_t size) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char text[INET6_ADDRSTRLEN];
    int written;
    if (info == NULL || info->client_addr == NULL || size == 0) {
        return -1;
    }
    if (info->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)info->client_addr;
        if (inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text) == NULL) return -1;
        written = snprintf(buffer, size, "%s:%u", text, (unsigned)ntohs(v4->sin_port));
    } else if (info->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)info->client_addr;
        if (inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text) == NULL) return -1;
        written = snprintf(buffer, size, "[%s]:%u", text, (unsigned)ntohs(v6->sin6_port));
    } else {
        return -1;
    }
    return (written < 0 || (size_t)written >= size) ? -1 : 0;
}

#endif
