#ifndef DYSERVE_HANGUP_EVENTS_H
#define DYSERVE_HANGUP_EVENTS_H
/* epoll and eventfd wrappers for the server's hang-up watcher (Swift's Glibc module does not
 * export sys/epoll.h, and struct epoll_event is packed on x86-64). Linux only. */
#ifdef __linux__
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static inline int dyserve_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

static inline int dyserve_eventfd_create(void) {
    return eventfd(0, EFD_CLOEXEC);
}

/* Adds `fd`, reporting `token` once when the peer closes or resets (input is not watched). */
static inline int dyserve_epoll_add_hangup(int epoll_fd, int fd, uint64_t token) {
    struct epoll_event event;
    event.events = EPOLLRDHUP | EPOLLONESHOT;
    event.data.u64 = token;
    return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

/* Adds `fd`, reporting `token` whenever it is readable. */
static inline int dyserve_epoll_add_readable(int epoll_fd, int fd, uint64_t token) {
    struct epoll_event event;
    event.events = EPOLLIN;
    event.data.u64 = token;
    return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

static inline int dyserve_epoll_remove(int epoll_fd, int fd) {
    struct epoll_event unused = { 0 };
    return epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, &unused);
}

/* Blocks until events arrive; writes up to `capacity` (at most 32) tokens. Returns the count,
 * 0 when interrupted by a signal, or -1 on another error. */
static inline int dyserve_epoll_wait_tokens(int epoll_fd, uint64_t *tokens, int capacity) {
    struct epoll_event events[32];
    int count;
    int index;
    if (capacity > 32) capacity = 32;
    count = epoll_wait(epoll_fd, events, capacity, -1);
    if (count < 0) return errno == EINTR ? 0 : -1;
    for (index = 0; index < count; index++) tokens[index] = events[index].data.u64;
    return count;
}

static inline int dyserve_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == (ssize_t)sizeof one ? 0 : -1;
}
#endif
#endif
