package io.cloudlet.agent.fetch;

import io.cloudlet.engine.InvalidArtifactException;
import io.cloudlet.engine.overlay.OverlayFormat;
import io.cloudlet.engine.overlay.OverlayMeta;
import io.cloudlet.engine.overlay.OverlaySource;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An overlay at an http(s) URL, streamed: the header comes first with a small range request, then
 * one background download (a range request from the first segment to the end, resumed with a new
 * range after a dropped connection) hands out segments in file order as they complete, so the
 * applier works on early segments while later ones are still on the wire. At most
 * {@link #WINDOW_BYTES} of fetched but unconsumed segments are held in memory.
 *
 * <p>A server that ignores range requests gets one plain GET whose body is read the same way.
 */
public final class HttpOverlaySource implements OverlaySource {

    static final int WINDOW_BYTES = 64 << 20;
    private static final int PREFIX_BYTES = 64 << 10;
    private static final int ATTEMPTS = 3;
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");

    private final URI uri;
    private final HttpClient client;
    private final OverlayFormat.Header header;
    private final long[] offsets;
    private final int[] lengths;
    private final AtomicReferenceArray<CompletableFuture<byte[]>> pieces;
    private final Semaphore window = new Semaphore(WINDOW_BYTES);
    private final AtomicLong fetchNanos = new AtomicLong();
    private final long started;
    private final Thread downloader;
    private volatile InputStream body;
    private volatile boolean closed;

    private HttpOverlaySource(URI uri, HttpClient client, OverlayFormat.Header header, InputStream rest,
                              long started) {
        this.uri = uri;
        this.client = client;
        this.header = header;
        this.started = started;
        OverlayMeta meta = header.meta();
        int count = meta.segments().size() + meta.attachments().size();
        offsets = new long[count];
        lengths = new int[count];
        int i = 0;
        for (OverlayMeta.Segment segment : meta.segments()) {
            offsets[i] = segment.offset();
            lengths[i++] = segment.length();
        }
        for (OverlayMeta.Attachment attachment : meta.attachments()) {
            offsets[i] = attachment.offset();
            lengths[i++] = attachment.length();
        }
        pieces = new AtomicReferenceArray<>(count);
        for (int p = 0; p < count; p++) {
            pieces.set(p, new CompletableFuture<>());
        }
        this.body = rest;
        downloader = new Thread(this::download, "overlay-download");
        downloader.setDaemon(true);
        downloader.start();
    }

    /**
     * Opens the overlay at {@code uri}: fetches and validates its header now (so an unreachable
     * URL or a file that is not an overlay fails here, before anything is created) and starts
     * downloading the rest in the background.
     */
    public static HttpOverlaySource open(URI uri) throws IOException {
        long started = System.nanoTime();
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NORMAL).build();
        HttpResponse<InputStream> first = send(client, uri, 0, PREFIX_BYTES - 1);
        if (first.statusCode() != 206) {
            // The server ignores ranges: read the header off the full body and keep streaming it.
            InputStream whole = first.body();
            try {
                OverlayFormat.Header header = OverlayFormat.readHeader(whole);
                java.util.OptionalLong length = first.headers().firstValueAsLong("Content-Length");
                if (length.isPresent()) {
                    checkLength(uri, length.getAsLong(), header);
                }
                return new HttpOverlaySource(uri, client, header, whole, started);
            } catch (IOException | RuntimeException e) {
                whole.close();
                throw e;
            }
        }
        byte[] prefix;
        try (InputStream in = first.body()) {
            prefix = in.readAllBytes();
        }
        long total = totalLength(uri, first);
        if (prefix.length >= OverlayFormat.HEADER_LENGTH) {
            int metaLength = ByteBuffer.wrap(prefix, 12, 4).getInt();
            long headerLength = OverlayFormat.HEADER_LENGTH + (long) metaLength;
            if (metaLength > 0 && headerLength > prefix.length && headerLength <= total) {
                byte[] more;
                try (InputStream rest = send(client, uri, prefix.length, headerLength - 1).body()) {
                    more = rest.readNBytes((int) (headerLength - prefix.length));
                }
                byte[] joined = java.util.Arrays.copyOf(prefix, prefix.length + more.length);
                System.arraycopy(more, 0, joined, prefix.length, more.length);
                prefix = joined;
            }
        }
        OverlayFormat.Header header = OverlayFormat.readHeader(prefix);
        checkLength(uri, total, header);
        return new HttpOverlaySource(uri, client, header, null, started);
    }

    private static HttpResponse<InputStream> send(HttpClient client, URI uri, long from, long to) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Range", "bytes=" + from + "-" + (to < 0 ? "" : to)).GET().build();
        HttpResponse<InputStream> response;
        try {
            response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (java.net.ConnectException e) {
            throw new InvalidArtifactException("cannot fetch overlay " + uri + ": connection refused", e);
        } catch (java.net.http.HttpConnectTimeoutException e) {
            throw new InvalidArtifactException("cannot fetch overlay " + uri + ": connection timed out", e);
        } catch (java.nio.channels.UnresolvedAddressException e) {
            throw new InvalidArtifactException("cannot fetch overlay " + uri + ": unknown host", e);
        } catch (IOException e) {
            throw new InvalidArtifactException("cannot fetch overlay " + uri + ": " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while fetching " + uri);
        }
        int status = response.statusCode();
        if (status != 200 && status != 206) {
            response.body().close();
            throw new InvalidArtifactException("cannot fetch overlay " + uri + ": the server answered HTTP " + status);
        }
        return response;
    }

    private static String describe(IOException e) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getMessage() == null) {
            cause = cause.getCause();
        }
        return cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    }

    private static long totalLength(URI uri, HttpResponse<?> response) throws InvalidArtifactException {
        String range = response.headers().firstValue("Content-Range").orElse("");
        Matcher matcher = CONTENT_RANGE.matcher(range);
        if (!matcher.matches() || matcher.group(3).equals("*")) {
            throw new InvalidArtifactException("overlay " + uri + ": the server's Content-Range '" + range
                    + "' gives no length");
        }
        return Long.parseLong(matcher.group(3));
    }

    private static void checkLength(URI uri, long total, OverlayFormat.Header header) throws InvalidArtifactException {
        if (total < header.totalLength()) {
            throw new InvalidArtifactException("overlay " + uri + " is truncated: it has " + total
                    + " bytes, its meta describes " + header.totalLength());
        }
        if (total > header.totalLength()) {
            throw new InvalidArtifactException("overlay " + uri + " has " + (total - header.totalLength())
                    + " trailing bytes after its last segment");
        }
    }

    /** Reads every piece in file order, reconnecting with a range request after a dropped connection. */
    private void download() {
        int piece = 0;
        int failures = 0;
        byte[] current = null;
        int filled = 0;
        try {
            while (piece < lengths.length && !closed) {
                if (body == null) {
                    long from = header.dataOffset() + offsets[piece] + filled;
                    HttpResponse<InputStream> response = send(client, uri, from, header.totalLength() - 1);
                    body = response.body();
                    if (response.statusCode() == 200) {
                        body.skipNBytes(from);
                    }
                }
                try {
                    while (piece < lengths.length && !closed) {
                        if (current == null) {
                            window.acquire(Math.min(lengths[piece], WINDOW_BYTES));
                            current = new byte[lengths[piece]];
                            filled = 0;
                        }
                        while (filled < current.length) {
                            int read = body.read(current, filled, current.length - filled);
                            if (read < 0) {
                                throw new java.io.EOFException("connection closed at byte "
                                        + (header.dataOffset() + offsets[piece] + filled));
                            }
                            filled += read;
                        }
                        pieces.get(piece).complete(current);
                        current = null;
                        filled = 0;
                        piece++;
                    }
                } catch (IOException e) {
                    closeBody();
                    if (++failures >= ATTEMPTS || closed) {
                        throw new InvalidArtifactException("downloading overlay " + uri + " failed after " + failures
                                + " attempts: " + describe(e), e);
                    }
                }
            }
            fetchNanos.set(System.nanoTime() - started);
        } catch (IOException | RuntimeException e) {
            failFrom(piece, e);
        } catch (InterruptedException e) {
            failFrom(piece, new InterruptedIOException("download interrupted"));
        } finally {
            closeBody();
        }
    }

    private void failFrom(int piece, Exception e) {
        for (int p = piece; p < lengths.length; p++) {
            pieces.get(p).completeExceptionally(e);
        }
    }

    private void closeBody() {
        InputStream stream = body;
        body = null;
        if (stream != null) {
            try {
                stream.close();
            } catch (IOException e) {
                // Closing a broken connection.
            }
        }
    }

    private byte[] take(int piece) throws IOException {
        CompletableFuture<byte[]> future = pieces.get(piece);
        try {
            byte[] bytes = future.get();
            if (pieces.compareAndSet(piece, future, CompletableFuture.failedFuture(
                    new IllegalStateException("overlay piece " + piece + " was already consumed")))) {
                window.release(Math.min(bytes.length, WINDOW_BYTES));
            }
            return bytes;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException("downloading overlay " + uri + " failed: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for overlay data");
        }
    }

    @Override
    public OverlayFormat.Header header() {
        return header;
    }

    @Override
    public byte[] readSegment(int index) throws IOException {
        return take(index);
    }

    @Override
    public byte[] readAttachment(int index) throws IOException {
        return take(header.meta().segments().size() + index);
    }

    /** Time from {@link #open} until the last byte arrived (so far, while still downloading). */
    public Duration fetchTime() {
        long nanos = fetchNanos.get();
        return Duration.ofNanos(nanos == 0 ? System.nanoTime() - started : nanos);
    }

    @Override
    public String describe() {
        return uri.toString();
    }

    @Override
    public void close() {
        closed = true;
        downloader.interrupt();
        closeBody();
        IOException closedError = new IOException("overlay source closed");
        for (int p = 0; p < pieces.length(); p++) {
            pieces.get(p).completeExceptionally(closedError);
        }
    }
}
