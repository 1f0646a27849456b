-- One database per service: each owns its schema and migrates it alone.
CREATE DATABASE as2bus_config;
CREATE DATABASE as2bus_cert;
CREATE DATABASE as2bus_inbound;
CREATE DATABASE as2bus_outbound;
CREATE DATABASE as2bus_tracklog;
CREATE DATABASE as2bus_console;
CREATE DATABASE as2bus_notify;
