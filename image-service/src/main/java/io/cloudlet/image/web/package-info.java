/** Caller identity forwarded by the gateway, request ids in logs, and RFC 7807 error responses. */
package io.cloudlet.image.web;
