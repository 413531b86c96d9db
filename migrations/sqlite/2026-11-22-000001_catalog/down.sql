DROP TABLE service_requirements;
DROP TABLE services;
DROP TABLE resource_time_off;
DROP TABLE resource_hours;
DROP TABLE resources;
DROP TABLE location_closures;
DROP TABLE locations;
DROP TABLE businesses;
