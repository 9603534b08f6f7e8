/**
 * Minimal Keystone v3: projects, users and role assignments in PostgreSQL, password and token
 * authentication, signed tokens with a service catalogue, and the admin calls that create
 * projects, users and assignments.
 */
package io.cloudlet.gateway.identity;
