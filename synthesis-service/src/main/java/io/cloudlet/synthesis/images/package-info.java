/** Calls to the image service, on behalf of the caller (its project and roles are forwarded). */
package io.cloudlet.synthesis.images;
