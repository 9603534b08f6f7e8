/** Content-addressed files on local disk. */
package io.cloudlet.image.blob;
