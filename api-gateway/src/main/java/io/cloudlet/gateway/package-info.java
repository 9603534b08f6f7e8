/**
 * The API gateway. {@code identity} is the minimal Keystone v3 (projects, users, roles, tokens);
 * {@code routing} authenticates every API call and proxies it to the service that owns it.
 */
package io.cloudlet.gateway;
