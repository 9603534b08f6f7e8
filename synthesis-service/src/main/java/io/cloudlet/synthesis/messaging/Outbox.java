package io.cloudlet.synthesis.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudlet.contracts.AgentCommand;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import java.time.Instant;
import java.util.UUID;

/**
 * Where the service records the commands it sends. {@link #send} must run inside the transaction
 * that makes the change the command is for: the row commits with it, and the relay publishes it
 * right after the commit (or on its next sweep, after a crash).
 */
@Component
public class Outbox {

    static final String AGENT_COMMANDS = "agentCommands-out-0";

    private final OutboxRepository messages;
    private final OutboxRelay relay;
    private final ObjectMapper json;

    Outbox(OutboxRepository messages, OutboxRelay relay, ObjectMapper json) {
        this.messages = messages;
        this.relay = relay;
        this.json = json;
    }

    /** Records {@code command} for the agent on {@code hostId}. */
    @Transactional(propagation = Propagation.MANDATORY)
    public void send(String hostId, AgentCommand command) {
        try {
            messages.save(new OutboxMessage(UUID.fromString(command.commandId()), AGENT_COMMANDS, hostId,
                    json.writerFor(AgentCommand.class).writeValueAsString(command), Instant.now()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + command, e);
        }
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void afterCommit() {
                relay.kick();
            }
        });
    }
}
