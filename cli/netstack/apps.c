// SPDX-License-Identifier: MIT
/*
 * apps.c - the services of `net serve`, on lwIP's raw TCP API: echo (RFC 862) on port 7
 * and a plain-text status page over HTTP/1.0 on port 80. Every function runs under lwIP's
 * core lock (callbacks come from the driver thread or lwIP's tcpip thread). What a peer can
 * make a connection hold is bounded in size and, through an idle timeout, in time.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lwip/tcp.h>

#include "netstack.h"
#include "util/time.h"

#define MAX_CONNS 64
#define REQ_MAX	  2048
#define PAGE_MAX  4096
/*
 * Echo: bytes received and not yet queued for sending. lwIP reopens the receive window only
 * as much as we queue (tcp_recved), so it never delivers more than the window it advertises,
 * TCP_WND, and this ring always has room.
 */
#define ECHO_RING TCP_WND

/*
 * A connection of ours. Received data is copied out of lwIP's pbufs at once (into the echo
 * ring or the request), so no receive buffer waits on a peer; what a connection can hold is
 * its buffer here and lwIP's send buffer (TCP_SND_BUF), for at most NETSTACK_IDLE_S seconds
 * of idleness.
 */
struct conn {
	struct tcp_pcb *pcb;
	struct conn *next;
	bool http;
	bool closing;	  /* echo: the peer sent FIN; close once everything is queued */
	uint64_t last_ms; /* echo: data came or ours was acknowledged; http: accepted */
	size_t head, len; /* echo: the ring's bytes in buf */
	size_t req_len;	  /* http: the request's bytes in buf */
	uint8_t buf[];	  /* ECHO_RING or REQ_MAX bytes */
};

static size_t (*page_body)(char *buf, size_t len);
static struct tcp_pcb *listen_echo, *listen_http;
static struct conn *conns;
static unsigned nconns;
static unsigned long long refused, timeouts, overruns;

static void conn_free(struct conn *c)
{
	for (struct conn **pp = &conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	nconns--;
	free(c);
}

static void detach_pcb(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
}

/* Closes gracefully (FIN after the queued data). Returns ERR_ABRT if it had to abort. */
static err_t conn_close(struct conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	detach_pcb(pcb);
	conn_free(c);
	if (tcp_close(pcb) != ERR_OK) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	return ERR_OK; /* an orphan now, until the peer finishes: guard.c bounds those */
}

/* Resets the connection; callbacks return what this returns (lwIP's rule after tcp_abort). */
static err_t conn_abort(struct conn *c)
{
	struct tcp_pcb *pcb = c->pcb;

	/* Detached first: tcp_abort() calls the error callback, which would free c again. */
	detach_pcb(pcb);
	conn_free(c);
	tcp_abort(pcb);
	return ERR_ABRT;
}

/* --- echo -------------------------------------------------------------------------- */

/*
 * Queues as much of the ring as the send buffer takes, and only then opens the receive
 * window by as much (tcp_recved): a peer that does not read its echo is slowed down.
 */
static err_t echo_send(struct conn *c)
{
	while (c->len) {
		size_t n = c->len < ECHO_RING - c->head ? c->len : ECHO_RING - c->head;
		u16_t room = tcp_sndbuf(c->pcb);
		err_t e;

		if (n > room)
			n = room;
		if (!n)
			break;
		e = tcp_write(c->pcb, c->buf + c->head, (u16_t)n, TCP_WRITE_FLAG_COPY);
		if (e == ERR_MEM)
			break; /* the send queue is full: the sent callback resumes */
		if (e != ERR_OK)
			return conn_abort(c);
		c->head = (c->head + n) % ECHO_RING;
		c->len -= n;
		tcp_recved(c->pcb, (u16_t)n);
	}
	tcp_output(c->pcb);
	if (c->closing && !c->len)
		return conn_close(c);
	return ERR_OK;
}

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;
	size_t tail, first;

	if (!c) {
		if (p)
			pbuf_free(p);
		return ERR_OK;
	}
	if (!p) {
		c->closing = true;
		return echo_send(c);
	}
	if (err != ERR_OK) {
		pbuf_free(p);
		return err;
	}
	if (p->tot_len > ECHO_RING - c->len) {
		/* More than the window we advertised: lwIP does not do that; never trust it. */
		overruns++;
		pbuf_free(p);
		return conn_abort(c);
	}
	tail = (c->head + c->len) % ECHO_RING;
	first = p->tot_len < ECHO_RING - tail ? p->tot_len : ECHO_RING - tail;
	pbuf_copy_partial(p, c->buf + tail, (u16_t)first, 0);
	pbuf_copy_partial(p, c->buf, (u16_t)(p->tot_len - first), (u16_t)first);
	c->len += p->tot_len;
	c->last_ms = now_ns() / NSEC_PER_MSEC;
	/* The segments go back now (to the pool, if they were in DMA buffers). */
	pbuf_free(p);
	return echo_send(c);
}

static err_t echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct conn *c = arg;

	if (!c)
		return ERR_OK;
	c->last_ms = now_ns() / NSEC_PER_MSEC;
	return echo_send(c);
}

/* --- HTTP status page -------------------------------------------------------------- */

static err_t http_respond(struct conn *c)
{
	static char page[PAGE_MAX];
	char head[160];
	const char *req = (const char *)c->buf;
	bool get = !strncmp(req, "GET ", 4);
	size_t n = get ? page_body(page, sizeof(page))
		       : (size_t)snprintf(page, sizeof(page), "only GET is served here\n");
	int h = snprintf(head, sizeof(head),
			 "HTTP/1.0 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 get ? "200 OK" : "405 Method Not Allowed", n);

	if (tcp_write(c->pcb, head, (u16_t)h, TCP_WRITE_FLAG_COPY | TCP_WRITE_FLAG_MORE) ||
	    tcp_write(c->pcb, page, (u16_t)n, TCP_WRITE_FLAG_COPY))
		return conn_abort(c);
	tcp_output(c->pcb);
	return conn_close(c); /* FIN follows the page */
}

static err_t http_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;
	char *req;
	u16_t n;

	if (!c) {
		if (p)
			pbuf_free(p);
		return ERR_OK;
	}
	if (!p)
		return conn_close(c);
	if (err != ERR_OK) {
		pbuf_free(p);
		return err;
	}
	req = (char *)c->buf;
	n = (u16_t)(p->tot_len < REQ_MAX - 1 - c->req_len ? p->tot_len : REQ_MAX - 1 - c->req_len);
	pbuf_copy_partial(p, req + c->req_len, n, 0);
	c->req_len += n;
	req[c->req_len] = 0;
	tcp_recved(pcb, p->tot_len);
	/* The request's buffers go back before the page counts them. */
	pbuf_free(p);
	if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n") || c->req_len == REQ_MAX - 1)
		return http_respond(c);
	return ERR_OK;
}

/* --- both -------------------------------------------------------------------------- */

static void conn_err(void *arg, err_t err)
{
	if (arg)
		conn_free(arg); /* lwIP freed the pcb already */
}

/* Every second (lwIP's slow timer): the idle timeout, and retries of what ERR_MEM held. */
static err_t conn_poll(void *arg, struct tcp_pcb *pcb)
{
	struct conn *c = arg;

	if (!c)
		return ERR_OK;
	if (now_ns() / NSEC_PER_MSEC - c->last_ms >= NETSTACK_IDLE_S * 1000ull) {
		timeouts++;
		return conn_abort(c);
	}
	return c->http ? ERR_OK : echo_send(c);
}

static err_t accept_common(struct tcp_pcb *pcb, bool http)
{
	struct conn *c;

	if (nconns >= MAX_CONNS ||
	    !(c = calloc(1, sizeof(*c) + (http ? REQ_MAX : (size_t)ECHO_RING)))) {
		refused++;
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->pcb = pcb;
	c->http = http;
	c->last_ms = now_ns() / NSEC_PER_MSEC;
	c->next = conns;
	conns = c;
	nconns++;
	tcp_arg(pcb, c);
	tcp_recv(pcb, http ? http_recv : echo_recv);
	tcp_sent(pcb, http ? NULL : echo_sent);
	tcp_err(pcb, conn_err);
	tcp_poll(pcb, conn_poll, 2); /* in ticks of lwIP's 500 ms slow timer: every second */
	tcp_nagle_disable(pcb);
	return ERR_OK;
}

static err_t echo_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	return err == ERR_OK && pcb ? accept_common(pcb, false) : ERR_VAL;
}

static err_t http_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	return err == ERR_OK && pcb ? accept_common(pcb, true) : ERR_VAL;
}

static struct tcp_pcb *listen_on(u16_t port, tcp_accept_fn fn)
{
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4), *l;

	if (!pcb)
		return NULL;
	if (tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
		tcp_close(pcb);
		return NULL;
	}
	l = tcp_listen(pcb);
	if (!l) {
		tcp_close(pcb);
		return NULL;
	}
	tcp_accept(l, fn);
	return l;
}

int apps_start(size_t (*status)(char *buf, size_t len))
{
	page_body = status;
	listen_echo = listen_on(7, echo_accept);
	listen_http = listen_on(80, http_accept);
	return listen_echo && listen_http ? 0 : -1;
}

void apps_stop(void)
{
	while (conns)
		conn_abort(conns);
	if (listen_echo)
		tcp_close(listen_echo);
	if (listen_http)
		tcp_close(listen_http);
	listen_echo = listen_http = NULL;
}

size_t apps_status(char *buf, size_t len)
{
	size_t ring = 0;
	int n;

	for (const struct conn *c = conns; c; c = c->next)
		ring += c->len;
	n = snprintf(buf, len,
		     "conns %u\n"
		     "conns_max %u\n"
		     "conns_refused %llu\n"
		     "conn_timeouts %llu\n"
		     "idle_timeout_s %u\n"
		     "echo_queued_bytes %zu\n"
		     "echo_overruns %llu\n",
		     nconns, MAX_CONNS, refused, timeouts, NETSTACK_IDLE_S, ring, overruns);
	return n < 0 || !len ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}
