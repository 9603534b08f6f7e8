package io.cloudlet.bench;

import io.cloudlet.engine.handoff.Throttle;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An emulated link for the baseline: relays Unix socket connections to their real destinations,
 * every connection's forward direction through one shared token bucket, and counts the bytes
 * sent forward. The hypervisor's disk mirror and memory migration then share the link as they
 * would share a real one.
 */
final class LinkRelay implements AutoCloseable {

    private final Throttle.Bucket bucket;
    private final Path directory;
    private final AtomicLong forward = new AtomicLong();
    private final List<AutoCloseable> open = new ArrayList<>();

    LinkRelay(long bytesPerSecond, Path directory) throws IOException {
        this.bucket = new Throttle.Bucket(bytesPerSecond);
        this.directory = Files.createDirectories(directory);
    }

    /** Bytes sent from source to destination so far. */
    long forwardBytes() {
        return forward.get();
    }

    /** Listens on a new socket whose connections are relayed to {@code target}, and returns its path. */
    synchronized Path route(Path target) {
        try {
            Path entry = directory.resolve("relay-" + open.size() + ".sock");
            Files.deleteIfExists(entry);
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(entry));
            open.add(server);
            Thread acceptor = new Thread(() -> accept(server, target), "relay-accept");
            acceptor.setDaemon(true);
            acceptor.start();
            return entry;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void accept(ServerSocketChannel server, Path target) {
        try {
            while (true) {
                SocketChannel in = server.accept();
                SocketChannel out = SocketChannel.open(UnixDomainSocketAddress.of(target));
                synchronized (this) {
                    open.add(in);
                    open.add(out);
                }
                pump(in, out, bucket, forward);
                pump(out, in, null, new AtomicLong());
            }
        } catch (IOException e) {
            // Closed: the migration is over.
        }
    }

    /**
     * Copies {@code from} to {@code to} on a thread of its own, through {@code bucket} when there
     * is one. Channels, not streams: a channel's stream adapters share one lock between reading
     * and writing, which would stall a connection that carries both directions at once.
     */
    private static void pump(SocketChannel from, SocketChannel to, Throttle.Bucket bucket, AtomicLong counter) {
        Thread thread = new Thread(() -> {
            ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);
            try {
                while (from.read(buffer.clear()) >= 0) {
                    buffer.flip();
                    if (bucket != null) {
                        bucket.take(buffer.remaining());
                    }
                    counter.addAndGet(buffer.remaining());
                    while (buffer.hasRemaining()) {
                        to.write(buffer);
                    }
                }
                to.shutdownOutput();
            } catch (IOException e) {
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // Both ends are going away.
                }
            }
        }, "relay-pump");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public synchronized void close() {
        for (AutoCloseable closeable : open) {
            try {
                closeable.close();
            } catch (Exception e) {
                // Best effort: the relay is done.
            }
        }
    }
}
