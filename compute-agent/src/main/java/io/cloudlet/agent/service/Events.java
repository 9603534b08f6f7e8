package io.cloudlet.agent.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudlet.contracts.CloudletEvent;
import io.cloudlet.contracts.Destinations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.amqp.rabbit.connection.CorrelationData;
import org.springframework.amqp.support.AmqpHeaders;
import org.springframework.cloud.stream.function.StreamBridge;
import org.springframework.messaging.support.MessageBuilder;
import org.springframework.stereotype.Component;

import java.util.concurrent.TimeUnit;

/**
 * Publishes events to the {@code cloudlet.events} topic (routing key: the event's type) and waits
 * for the broker's confirm. An event that is not confirmed is retried a few times; beyond that
 * the next heartbeat carries the agent's whole state, from which consumers repair what they missed.
 */
@Component
class Events {

    private static final Logger log = LoggerFactory.getLogger(Events.class);
    private static final int ATTEMPTS = 3;

    private final StreamBridge bridge;
    private final ObjectMapper json;

    Events(StreamBridge bridge, ObjectMapper json) {
        this.bridge = bridge;
        this.json = json;
    }

    boolean publish(CloudletEvent event) {
        byte[] payload;
        try {
            payload = json.writerFor(CloudletEvent.class).writeValueAsBytes(event);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + event, e);
        }
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            CorrelationData correlation = new CorrelationData(event.eventId());
            boolean sent = bridge.send("events-out-0", MessageBuilder.withPayload(payload)
                    .setHeader("cloudlet-type", event.getClass().getSimpleName())
                    .setHeader(Destinations.MESSAGE_ID_HEADER, event.eventId())
                    .setHeader(AmqpHeaders.PUBLISH_CONFIRM_CORRELATION, correlation)
                    .setHeader("contentType", "application/json")
                    .build());
            try {
                if (sent && correlation.getFuture().get(10, TimeUnit.SECONDS).isAck()) {
                    return true;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } catch (Exception e) {
                log.warn("event {} not confirmed (attempt {}): {}", event.eventId(), attempt, e.toString());
            }
        }
        log.warn("giving up on event {} ({}); the next heartbeat carries the state", event.eventId(),
                event.getClass().getSimpleName());
        return false;
    }
}
