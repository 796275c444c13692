// SPDX-License-Identifier: MIT
/*
 * apps.c - the services of `net serve`, on lwIP's raw TCP API: echo (RFC 862) on port 7
 * and a plain-text status page over HTTP/1.0 on port 80. Every function runs under lwIP's
 * core lock (callbacks come from the driver thread or lwIP's tcpip thread).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lwip/tcp.h>

#include "netstack.h"

#define MAX_CONNS 64
#define REQ_MAX	  2048
#define PAGE_MAX  4096

struct conn {
	struct tcp_pcb *pcb;
	struct conn *next;
	bool http;
	bool closing;	      /* echo: the peer sent FIN; close once everything is queued */
	struct pbuf *pending; /* echo: received, not yet queued for sending */
	size_t req_len;	      /* http */
	char req[REQ_MAX];
};

static struct tcp_pcb *listen_echo, *listen_http;
static struct conn *conns;
static unsigned nconns;

static void conn_free(struct conn *c)
{
	for (struct conn **pp = &conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	nconns--;
	if (c->pending)
		pbuf_free(c->pending);
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
	return ERR_OK;
}

/* --- echo -------------------------------------------------------------------------- */

/*
 * Queues as much received data as the send buffer takes, and only then opens the receive
 * window by as much (tcp_recved): a peer that does not read its echo is slowed down.
 */
static err_t echo_send(struct conn *c)
{
	while (c->pending) {
		struct pbuf *q = c->pending;
		u16_t room = tcp_sndbuf(c->pcb), n = q->len < room ? q->len : room;
		err_t e;

		if (!q->len) { /* an empty segment: unlink it, as pbuf_free_header() would */
			c->pending = q->next;
			q->next = NULL;
			pbuf_free(q);
			continue;
		}
		if (!n)
			break;
		e = tcp_write(c->pcb, q->payload, n, TCP_WRITE_FLAG_COPY);
		if (e == ERR_MEM)
			break; /* the send queue is full: the sent callback resumes */
		if (e != ERR_OK) {
			tcp_abort(c->pcb);
			detach_pcb(c->pcb);
			conn_free(c);
			return ERR_ABRT;
		}
		c->pending = pbuf_free_header(q, n);
		tcp_recved(c->pcb, n);
	}
	tcp_output(c->pcb);
	if (c->closing && !c->pending)
		return conn_close(c);
	return ERR_OK;
}

static err_t echo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;

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
	if (c->pending)
		pbuf_cat(c->pending, p);
	else
		c->pending = p;
	return echo_send(c);
}

static err_t echo_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	return arg ? echo_send(arg) : ERR_OK;
}

/* --- HTTP status page -------------------------------------------------------------- */

static err_t http_respond(struct conn *c)
{
	static char page[PAGE_MAX];
	char head[160];
	bool get = !strncmp(c->req, "GET ", 4);
	size_t n = get ? netstack_status(page, sizeof(page))
		       : (size_t)snprintf(page, sizeof(page), "only GET is served here\n");
	int h = snprintf(head, sizeof(head),
			 "HTTP/1.0 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 get ? "200 OK" : "405 Method Not Allowed", n);

	if (tcp_write(c->pcb, head, (u16_t)h, TCP_WRITE_FLAG_COPY | TCP_WRITE_FLAG_MORE) ||
	    tcp_write(c->pcb, page, (u16_t)n, TCP_WRITE_FLAG_COPY)) {
		tcp_abort(c->pcb);
		detach_pcb(c->pcb);
		conn_free(c);
		return ERR_ABRT;
	}
	tcp_output(c->pcb);
	return conn_close(c); /* FIN follows the page */
}

static err_t http_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct conn *c = arg;
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
	n = (u16_t)(p->tot_len < REQ_MAX - 1 - c->req_len ? p->tot_len : REQ_MAX - 1 - c->req_len);
	pbuf_copy_partial(p, c->req + c->req_len, n, 0);
	c->req_len += n;
	c->req[c->req_len] = 0;
	tcp_recved(pcb, p->tot_len);
	/* The request's buffers go back before the page counts them. */
	pbuf_free(p);
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n") || c->req_len == REQ_MAX - 1)
		return http_respond(c);
	return ERR_OK;
}

/* --- both -------------------------------------------------------------------------- */

static void conn_err(void *arg, err_t err)
{
	if (arg)
		conn_free(arg); /* lwIP freed the pcb already */
}

static err_t conn_poll(void *arg, struct tcp_pcb *pcb)
{
	struct conn *c = arg;

	if (c && !c->http)
		return echo_send(c); /* retries what ERR_MEM held back */
	return ERR_OK;
}

static err_t accept_common(struct tcp_pcb *pcb, bool http)
{
	struct conn *c;

	if (nconns >= MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->pcb = pcb;
	c->http = http;
	c->next = conns;
	conns = c;
	nconns++;
	tcp_arg(pcb, c);
	tcp_recv(pcb, http ? http_recv : echo_recv);
	tcp_sent(pcb, http ? NULL : echo_sent);
	tcp_err(pcb, conn_err);
	tcp_poll(pcb, conn_poll, 2);
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

int apps_start(void)
{
	listen_echo = listen_on(7, echo_accept);
	listen_http = listen_on(80, http_accept);
	return listen_echo && listen_http ? 0 : -1;
}

void apps_stop(void)
{
	while (conns) {
		struct tcp_pcb *pcb = conns->pcb;

		detach_pcb(pcb);
		conn_free(conns);
		tcp_abort(pcb);
	}
	if (listen_echo)
		tcp_close(listen_echo);
	if (listen_http)
		tcp_close(listen_http);
	listen_echo = listen_http = NULL;
}
