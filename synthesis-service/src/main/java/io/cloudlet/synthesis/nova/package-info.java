/** The OpenStack Compute API v2.1 surface: versions, flavors, servers and server actions, Nova's error shape. */
package io.cloudlet.synthesis.nova;
