/** Authentication of every API call and the routes to the compute and image services. */
package io.cloudlet.gateway.routing;
