package io.cloudlet.synthesis.messaging;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

import java.sql.Timestamp;
import java.time.Instant;

/** Remembers consumed message ids inside the consumer's transaction. */
@Component
class ProcessedMessages {

    private final JdbcTemplate jdbc;

    ProcessedMessages(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** Records {@code id}; false if it was recorded before (the message is a duplicate). */
    @Transactional(propagation = Propagation.MANDATORY)
    boolean firstTime(String id) {
        return jdbc.update("insert into processed_message (message_id, processed_at) values (?, ?) "
                + "on conflict (message_id) do nothing", id, Timestamp.from(Instant.now())) == 1;
    }
}
