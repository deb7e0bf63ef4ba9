#ifndef SWIFTNATS_CEPOLL_SHIM_H
#define SWIFTNATS_CEPOLL_SHIM_H
/* Swift's Glibc module leaves out epoll: the dispatch queue's descriptor is an epoll set. */
#include <sys/epoll.h>
#endif
