/**
 * Overlays over HTTP: {@link io.cloudlet.agent.fetch.HttpOverlaySource} streams an overlay with
 * range requests so segments are applied while later ones download, and
 * {@link io.cloudlet.agent.fetch.OverlayFileServer} serves a directory of overlays with range
 * support (`cloudlet serve`, tests and benchmarks).
 */
package io.cloudlet.agent.fetch;
